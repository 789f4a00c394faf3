package e2e

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

// promMixinSelector is the mixin's default mattermostSelector (mixin/config.libsonnet), which
// the rendered dashboard's variables carry.
const promMixinSelector = `job=~".*mattermost.*"`

// TestDashboardStructure checks what makes the dashboard provisionable as a file and usable with
// any Prometheus: no __inputs, a datasource variable, job/instance variables drawn from
// mattermost_up, every panel and target on ${datasource}, and every query filtered by the
// job/instance variables.
func TestDashboardStructure(t *testing.T) {
	d := promLoadDashboard(t, promDashboardFile)
	if len(d.Inputs) != 0 {
		t.Errorf("dashboard has __inputs; it must provision as a file")
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard needs a uid and a title (uid=%q title=%q)", d.UID, d.Title)
	}
	if d.SchemaVersion < 36 || d.SchemaVersion > 41 {
		t.Errorf("schemaVersion = %d, want about 39", d.SchemaVersion)
	}

	vars := map[string]grafanaVariable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	ds, ok := vars["datasource"]
	if !ok || ds.Type != "datasource" {
		t.Fatalf("no datasource variable of type datasource: %+v", ds)
	}
	if q, _ := ds.QueryString(); q != "prometheus" {
		t.Errorf("datasource variable query = %q, want prometheus", q)
	}
	for name, want := range map[string]string{
		"job":      `label_values(mattermost_up{` + promMixinSelector + `}, job)`,
		"instance": `label_values(mattermost_up{` + promMixinSelector + `,job=~"$job"}, instance)`,
	} {
		v, ok := vars[name]
		if !ok {
			t.Errorf("no %s variable", name)
			continue
		}
		q, err := v.QueryString()
		if err != nil {
			t.Error(err)
		}
		if v.Type != "query" || q != want {
			t.Errorf("variable %s: type %q query %q, want query %q", name, v.Type, q, want)
		}
		if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
			t.Errorf("variable %s: datasource %+v, want uid ${datasource}", name, v.Datasource)
		}
	}

	titles := map[string]bool{}
	ids := map[int]bool{}
	for _, p := range grafanaAllPanels(d) {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		titles[p.Title] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v, want uid ${datasource}", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		if p.GridPos["w"] == 0 || p.GridPos["h"] == 0 {
			t.Errorf("panel %q has no size: %v", p.Title, p.GridPos)
		}
		for _, tg := range p.Targets {
			if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q target %s: datasource %+v, want uid ${datasource}", p.Title, tg.RefID, tg.Datasource)
			}
			if !strings.Contains(tg.Expr, `job=~"$job"`) || !strings.Contains(tg.Expr, `instance=~"$instance"`) {
				t.Errorf("panel %q target %s does not filter by $job and $instance: %s", p.Title, tg.RefID, tg.Expr)
			}
		}
	}
	// Every panel that shows numbers says in what unit ("short" and "none" are units too).
	for _, p := range grafanaAllPanels(d) {
		switch p.Type {
		case "stat", "timeseries", "bargauge", "gauge":
		default:
			continue
		}
		var fc struct {
			Defaults struct {
				Unit string `json:"unit"`
			} `json:"defaults"`
		}
		if len(p.Field) > 0 {
			if err := json.Unmarshal(p.Field, &fc); err != nil {
				t.Errorf("panel %q: fieldConfig: %v", p.Title, err)
			}
		}
		if fc.Defaults.Unit == "" {
			t.Errorf("panel %q (%s) sets no fieldConfig.defaults.unit", p.Title, p.Type)
		}
	}
	// Query variables refresh when the dashboard loads (1: on load, 2: on load and on time
	// range change); 0 would freeze the values saved in the file.
	for _, name := range []string{"job", "instance"} {
		if r := grafanaVariableRefresh(t, name); r != 1 && r != 2 {
			t.Errorf("variable %s: refresh = %d, want 1 or 2 (refresh on dashboard load)", name, r)
		}
	}
	// No hard-coded datasource anywhere: every datasource reference is the variable (or
	// Grafana's built-in annotation source).
	grafanaCheckDatasourceRefs(t)

	// Panels must not overlap on Grafana's 24-column grid.
	top := d.Panels
	for i := range top {
		a := top[i].GridPos
		if a["x"]+a["w"] > 24 {
			t.Errorf("panel %q is wider than the grid: %v", top[i].Title, a)
		}
		for j := i + 1; j < len(top); j++ {
			b := top[j].GridPos
			if a["x"] < b["x"]+b["w"] && b["x"] < a["x"]+a["w"] && a["y"] < b["y"]+b["h"] && b["y"] < a["y"]+a["h"] {
				t.Errorf("panels %q %v and %q %v overlap", top[i].Title, a, top[j].Title, b)
			}
		}
	}
	// The panels the issue asks for.
	for _, want := range []string{
		"Mattermost API", "Server version", "Cluster nodes", "Version and config skew",
		"SAML certificate files", "SAML enabled", "Users by status", "Users now", "Manual statuses",
		"Collector success", "Collector duration", "API requests", "Rate limit remaining",
	} {
		if !titles[want] {
			t.Errorf("no panel titled %q", want)
		}
	}
}

// TestDashboardProvisioning checks the Grafana provisioning examples.
func TestDashboardProvisioning(t *testing.T) {
	var dash struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string `yaml:"name"`
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	promDecodeYAML(t, promRepoPath("dashboards", "provisioning", "dashboards.yml"), &dash)
	if dash.APIVersion != 1 || len(dash.Providers) != 1 || dash.Providers[0].Type != "file" || dash.Providers[0].Options.Path == "" {
		t.Errorf("dashboards.yml: want apiVersion 1 and one file provider with a path, got %+v", dash)
	}
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name string `yaml:"name"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	promDecodeYAML(t, promRepoPath("dashboards", "provisioning", "datasource.yml"), &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL == "" {
		t.Errorf("datasource.yml: want one prometheus datasource with a url, got %+v", ds)
	}
}

// grafanaVariableRefresh returns the refresh setting of a templating variable of the shipped
// dashboard.
func grafanaVariableRefresh(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(promDashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Templating struct {
			List []struct {
				Name    string `json:"name"`
				Refresh int    `json:"refresh"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	for _, v := range d.Templating.List {
		if v.Name == name {
			return v.Refresh
		}
	}
	t.Errorf("no variable %s", name)
	return -1
}

// grafanaCheckDatasourceRefs walks the whole dashboard JSON and fails on any "datasource"
// reference other than the ${datasource} variable or Grafana's own "-- Grafana --".
func grafanaCheckDatasourceRefs(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(promDashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var root any
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	n := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, child := range x {
				if k == "datasource" {
					n++
					switch ds := child.(type) {
					case map[string]any:
						uid, _ := ds["uid"].(string)
						if uid != "${datasource}" && uid != "-- Grafana --" {
							t.Errorf("%s.datasource: uid %q, want ${datasource}", path, uid)
						}
					case string:
						if ds != "${datasource}" && ds != "$datasource" {
							t.Errorf("%s.datasource: %q, want ${datasource}", path, ds)
						}
					case nil:
					}
				}
				walk(path+"."+k, child)
			}
		case []any:
			for i, child := range x {
				walk(path+"["+strconv.Itoa(i)+"]", child)
			}
		}
	}
	walk("dashboard", root)
	if n == 0 {
		t.Errorf("dashboard has no datasource reference at all")
	}
}
