module github.com/mmexporter/mattermost_exporter

go 1.26.8
