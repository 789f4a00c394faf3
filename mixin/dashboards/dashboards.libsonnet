// The Mattermost dashboard. Every query selects the exporter's series with
// _config.mattermostSelector and the dashboard's $job and $instance variables.
local lib = import '../lib.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    // m: the matchers of every panel query.
    local m = lib.matchers([c.mattermostSelector, 'job=~"$job"', 'instance=~"$instance"']),
    local q(expr) = expr % { m: m },
    local jobQuery = 'label_values(%s, job)' % lib.series('mattermost_up', c.mattermostSelector),
    local instanceQuery = 'label_values(%s, instance)' % lib.series('mattermost_up', c.mattermostSelector, ['job=~"$job"']),
    // ds: the dashboard's Prometheus data source variable, for every panel and query.
    local ds = { type: 'prometheus', uid: '${datasource}' },
    // target: one panel query; a range query unless instant.
    local target(expr, legend, ref='A', instant=false) = {
      datasource: ds,
      expr: expr,
      legendFormat: legend,
      refId: ref,
      range: !instant,
      instant: instant,
    },

    'mattermost.json':
    {
      annotations: {
        list: [
          {
            builtIn: 1,
            datasource: {
              type: "grafana",
              uid: "-- Grafana --"
            },
            enable: true,
            hide: true,
            iconColor: "rgba(0, 211, 255, 1)",
            name: "Annotations & Alerts",
            type: "dashboard"
          }
        ]
      },
      description: "Mattermost server, cluster, SAML and user statuses from mattermost_exporter.",
      editable: true,
      fiscalYearStartMonth: 0,
      graphTooltip: 1,
      id: null,
      links: [
        {
          title: "Runbook",
          type: "link",
          icon: "doc",
          targetBlank: true,
          tooltip: "Alert runbook",
          url: c.runbookURL
        }
      ],
      panels: [
        {
          type: "row",
          title: "Overview",
          id: 1,
          collapsed: false,
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 0
          },
          panels: []
        },
        {
          type: "stat",
          title: "Mattermost API",
          description: "mattermost_up: 1 when the exporter's ping to /api/v4/system/ping succeeded on the last scrape.",
          id: 2,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 4,
            x: 0,
            y: 1
          },
          targets: [
            target(q('mattermost_up{%(m)s}'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              mappings: [
                {
                  type: "value",
                  options: {
                    "0": {
                      text: "DOWN",
                      color: "red",
                      index: 0
                    },
                    "1": {
                      text: "UP",
                      color: "green",
                      index: 1
                    }
                  }
                }
              ],
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "red",
                    value: null
                  },
                  {
                    color: "green",
                    value: 1
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "none"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "stat",
          title: "Exporter scrape",
          description: "Prometheus' up for the exporter target: 1 when the exporter itself answered the scrape.",
          id: 3,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 4,
            x: 4,
            y: 1
          },
          targets: [
            target(q('up{%(m)s}'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              mappings: [
                {
                  type: "value",
                  options: {
                    "0": {
                      text: "DOWN",
                      color: "red",
                      index: 0
                    },
                    "1": {
                      text: "UP",
                      color: "green",
                      index: 1
                    }
                  }
                }
              ],
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "red",
                    value: null
                  },
                  {
                    color: "green",
                    value: 1
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "none"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "table",
          title: "Server version",
          description: "mattermost_server_info: version, build number and license flag from the X-Version-Id header.",
          id: 4,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 10,
            x: 8,
            y: 1
          },
          targets: [
            target(q('max by (job, instance, version, build_number, licensed) (mattermost_server_info{%(m)s})'), "", instant=true) + { format: "table" }
          ],
          fieldConfig: {
            defaults: { unit: "none" },
            overrides: []
          },
          options: {
            showHeader: true,
            cellHeight: "sm",
            footer: {
              show: false,
              reducer: [
                "sum"
              ],
              fields: ""
            }
          },
          transformations: [
            {
              id: "organize",
              options: {
                excludeByName: {
                  Time: true,
                  Value: true,
                  __name__: true,
                  job: true
                },
                indexByName: {
                  instance: 0,
                  version: 1,
                  build_number: 2,
                  licensed: 3
                },
                renameByName: {
                  build_number: "build",
                  version: "Mattermost version"
                }
              }
            }
          ]
        },
        {
          type: "table",
          title: "Exporter build",
          description: "mattermost_exporter_build_info: the exporter's own version.",
          id: 5,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 6,
            x: 18,
            y: 1
          },
          targets: [
            target(q('max by (job, instance, version, revision, branch, goversion, goos, goarch, tags) (mattermost_exporter_build_info{%(m)s})'), "", instant=true) + { format: "table" }
          ],
          fieldConfig: {
            defaults: { unit: "none" },
            overrides: []
          },
          options: {
            showHeader: true,
            cellHeight: "sm",
            footer: {
              show: false,
              reducer: [
                "sum"
              ],
              fields: ""
            }
          },
          transformations: [
            {
              id: "organize",
              options: {
                excludeByName: {
                  Time: true,
                  Value: true,
                  __name__: true,
                  job: true,
                  goarch: true,
                  goos: true,
                  tags: true,
                  branch: true
                },
                indexByName: {
                  instance: 0,
                  version: 1,
                  revision: 2,
                  goversion: 3
                }
              }
            }
          ]
        },
        {
          type: "row",
          title: "TLS certificates",
          id: 57,
          collapsed: false,
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 5
          },
          panels: []
        },
        {
          type: "stat",
          title: "TLS certificate days left",
          description: 'Days until the earliest certificate (leaf or intermediate) of the TLS chain presented to the exporter expires: mattermost_tls_certificate_expiry_timestamp_seconds, endpoint mattermost = the Mattermost URL, idp_metadata = the SAML IdP metadata URL. Orange under %d days, red under %d (MattermostTLSCertificateExpiringSoon). Empty for http:// URLs.' % [c.tlsCertificateWarningDays, c.tlsCertificateCriticalDays],
          id: 58,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 8,
            x: 0,
            y: 6
          },
          targets: [
            target(q('(mattermost_tls_certificate_expiry_timestamp_seconds{%(m)s} - time()) / 86400'), "{{endpoint}} {{instance}}")
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "red",
                    value: null
                  },
                  {
                    color: "orange",
                    value: c.tlsCertificateCriticalDays
                  },
                  {
                    color: "green",
                    value: c.tlsCertificateWarningDays
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "none",
              decimals: 0
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "stat",
          title: "TLS chain verified",
          description: "mattermost_tls_certificate_verified: whether the presented chain verifies for the host name against the configured roots (CA file and system pool). With insecure-skip-verify the exporter checks it itself, so red here with Mattermost up means the exporter accepts a chain that browsers without that CA refuse.",
          id: 59,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 4,
            x: 8,
            y: 6
          },
          targets: [
            target(q('mattermost_tls_certificate_verified{%(m)s}'), "{{endpoint}} {{instance}}", instant=true)
          ],
          fieldConfig: {
            defaults: {
              mappings: [
                {
                  type: "value",
                  options: {
                    "0": {
                      text: "not verified",
                      color: "red",
                      index: 0
                    },
                    "1": {
                      text: "verified",
                      color: "green",
                      index: 1
                    }
                  }
                }
              ],
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "red",
                    value: null
                  },
                  {
                    color: "green",
                    value: 1
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "none"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "table",
          title: "TLS certificates",
          description: "mattermost_tls_certificate_info (the leaf certificate: subject and issuer common names, serial) with mattermost_tls_version_info (the negotiated TLS version; empty when the last handshake failed on the certificate).",
          id: 60,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 12,
            x: 12,
            y: 6
          },
          targets: [
            target(q('max by (job, instance, endpoint, subject_cn, issuer_cn, serial, version) (mattermost_tls_certificate_info{%(m)s} * on(job, instance, endpoint) group_left(version) mattermost_tls_version_info{%(m)s}) or on(job, instance, endpoint) max by (job, instance, endpoint, subject_cn, issuer_cn, serial) (mattermost_tls_certificate_info{%(m)s})'), "", instant=true) + { format: "table" }
          ],
          fieldConfig: {
            defaults: {
              unit: "none"
            },
            overrides: []
          },
          options: {
            showHeader: true,
            cellHeight: "sm",
            footer: {
              show: false,
              reducer: [
                "sum"
              ],
              fields: ""
            }
          },
          transformations: [
            {
              id: "organize",
              options: {
                excludeByName: {
                  Time: true,
                  Value: true,
                  __name__: true,
                  job: true
                },
                indexByName: {
                  instance: 0,
                  endpoint: 1,
                  subject_cn: 2,
                  issuer_cn: 3,
                  serial: 4,
                  version: 5
                },
                renameByName: {
                  subject_cn: "subject",
                  issuer_cn: "issuer",
                  version: "TLS version"
                }
              }
            }
          ]
        },
        {
          type: "row",
          title: "Health and license",
          id: 30,
          collapsed: false,
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 10
          },
          panels: []
        },
        {
          type: "stat",
          title: "Database and file store",
          description: "mattermost_health_status: Mattermost's own deep health check (a database write and delete, a file store connection test), run at most once per --collector.health.interval (MattermostDatabaseUnhealthy, MattermostFileStoreUnhealthy).",
          id: 31,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 8,
            x: 0,
            y: 11
          },
          targets: [
            target(q('mattermost_health_status{%(m)s}'), "{{component}} {{instance}}")
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "red",
                    value: null
                  },
                  {
                    color: "green",
                    value: 1
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "none",
              mappings: [
                {
                  type: "value",
                  options: {
                    "0": {
                      text: "UNHEALTHY",
                      color: "red",
                      index: 0
                    },
                    "1": {
                      text: "OK",
                      color: "green",
                      index: 1
                    }
                  }
                }
              ]
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "stat",
          title: "Health check age",
          description: "Time since the deep health answer behind the panel on the left was received (mattermost_health_timestamp_seconds); up to --collector.health.interval (60s) is normal.",
          id: 32,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 4,
            x: 8,
            y: 11
          },
          targets: [
            target(q('time() - mattermost_health_timestamp_seconds{%(m)s}'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "green",
                    value: null
                  },
                  {
                    color: "orange",
                    value: 300
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "s"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "table",
          title: "Search backend",
          description: "mattermost_search_backend_info: the search backend Mattermost uses (reported from 9.x on).",
          id: 33,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 6,
            x: 12,
            y: 11
          },
          targets: [
            target(q('max by (job, instance, backend) (mattermost_search_backend_info{%(m)s})'), "", instant=true)
          ],
          fieldConfig: {
            defaults: { unit: "none" },
            overrides: []
          },
          options: {
            showHeader: true,
            cellHeight: "sm",
            footer: {
              show: false,
              reducer: [
                "sum"
              ],
              fields: ""
            }
          },
          transformations: [
            {
              id: "organize",
              options: {
                excludeByName: {
                  Time: true,
                  Value: true,
                  job: true
                },
                indexByName: {
                  instance: 0,
                  backend: 1
                },
                renameByName: {}
              }
            }
          ]
        },
        {
          type: "stat",
          title: "Plugins enabled",
          description: "mattermost_plugins_enabled: PluginSettings.Enable (0: the server answers that plugins are disabled).",
          id: 34,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 6,
            x: 18,
            y: 11
          },
          targets: [
            target(q('mattermost_plugins_enabled{%(m)s}'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "text",
                    value: null
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "none",
              mappings: [
                {
                  type: "value",
                  options: {
                    "0": {
                      text: "disabled",
                      color: "text",
                      index: 0
                    },
                    "1": {
                      text: "enabled",
                      color: "green",
                      index: 1
                    }
                  }
                }
              ]
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "table",
          title: "License",
          description: "mattermost_license_info and mattermost_license_licensed: the SKU (empty when the token may not read it), trial flag and whether a license is installed (Value).",
          id: 35,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 8,
            x: 0,
            y: 15
          },
          targets: [
            target(q('max by (job, instance, sku_short_name, is_trial) (mattermost_license_info{%(m)s}) * on(job, instance) group_left() max by (job, instance) (mattermost_license_licensed{%(m)s})'), "", instant=true)
          ],
          fieldConfig: {
            defaults: { unit: "none" },
            overrides: []
          },
          options: {
            showHeader: true,
            cellHeight: "sm",
            footer: {
              show: false,
              reducer: [
                "sum"
              ],
              fields: ""
            }
          },
          transformations: [
            {
              id: "organize",
              options: {
                excludeByName: {
                  Time: true,
                  job: true
                },
                indexByName: {
                  instance: 0,
                  sku_short_name: 1,
                  is_trial: 2,
                  Value: 3
                },
                renameByName: {
                  sku_short_name: "SKU",
                  is_trial: "trial",
                  Value: "licensed"
                }
              }
            }
          ]
        },
        {
          type: "stat",
          title: "License days left",
          description: "Days until mattermost_license_expiry_timestamp_seconds (needs a system admin token); orange under 30 days, red under 7 (the MattermostLicenseExpiringSoon thresholds).",
          id: 36,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 4,
            x: 8,
            y: 15
          },
          targets: [
            target(q('(mattermost_license_expiry_timestamp_seconds{%(m)s} - time()) / 86400'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "red",
                    value: null
                  },
                  {
                    color: "orange",
                    value: 7
                  },
                  {
                    color: "green",
                    value: 30
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "none",
              decimals: 0
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "stat",
          title: "License term",
          description: "mattermost_license_start_timestamp_seconds and mattermost_license_expiry_timestamp_seconds (system admin token only).",
          id: 37,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 6,
            x: 12,
            y: 15
          },
          targets: [
            target(q('mattermost_license_start_timestamp_seconds{%(m)s} * 1000'), "starts {{instance}}"),
            target(q('mattermost_license_expiry_timestamp_seconds{%(m)s} * 1000'), "expires {{instance}}", ref='B')
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "blue",
                    value: null
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "dateTimeAsIsoNoDateIfToday"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "stat",
          title: "Licensed seats",
          description: "mattermost_license_users: user seats of the installed license.",
          id: 38,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 6,
            x: 18,
            y: 15
          },
          targets: [
            target(q('mattermost_license_users{%(m)s}'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "blue",
                    value: null
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "short"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "row",
          title: "Jobs",
          id: 39,
          collapsed: false,
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 19
          },
          panels: []
        },
        {
          type: "table",
          title: "Jobs: last status",
          description: "mattermost_job_last_status: the status of the newest job of each type (error = MattermostJobFailed).",
          id: 40,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 8,
            x: 0,
            y: 20
          },
          targets: [
            target(q('max by (job, instance, type, status) (mattermost_job_last_status{%(m)s} == 1)'), "", instant=true)
          ],
          fieldConfig: {
            defaults: { unit: "none" },
            overrides: []
          },
          options: {
            showHeader: true,
            cellHeight: "sm",
            footer: {
              show: false,
              reducer: [
                "sum"
              ],
              fields: ""
            }
          },
          transformations: [
            {
              id: "organize",
              options: {
                excludeByName: {
                  Time: true,
                  Value: true,
                  job: true
                },
                indexByName: {
                  instance: 0,
                  type: 1,
                  status: 2
                },
                renameByName: {
                  status: "last status"
                }
              }
            }
          ]
        },
        {
          type: "timeseries",
          title: "Pending jobs",
          description: "mattermost_jobs_pending: jobs waiting to run, by type, among the 200 most recent.",
          id: 41,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 8,
            x: 8,
            y: 20
          },
          targets: [
            target(q('sum by (type) (mattermost_jobs_pending{%(m)s})'), "{{type}}")
          ],
          fieldConfig: {
            defaults: {
              unit: "short",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 0,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "none",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "timeseries",
          title: "Oldest pending job age",
          description: "mattermost_job_oldest_pending_age_seconds: how long the oldest pending job of each type has waited (over an hour = MattermostJobStuck).",
          id: 42,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 8,
            x: 16,
            y: 20
          },
          targets: [
            target(q('max by (type) (mattermost_job_oldest_pending_age_seconds{%(m)s})'), "{{type}}")
          ],
          fieldConfig: {
            defaults: {
              unit: "s",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 0,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "none",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "timeseries",
          title: "Time since the last successful job",
          description: "time() - mattermost_job_last_success_timestamp_seconds: how long ago the newest successful job of each type last reported activity (only types with a success seen by this exporter).",
          id: 43,
          datasource: ds,
          gridPos: {
            h: 6,
            w: 24,
            x: 0,
            y: 28
          },
          targets: [
            target(q('time() - max by (type) (mattermost_job_last_success_timestamp_seconds{%(m)s})'), "{{type}}")
          ],
          fieldConfig: {
            defaults: {
              unit: "s",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 0,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "none",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "row",
          title: "Plugins",
          id: 44,
          collapsed: false,
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 34
          },
          panels: []
        },
        {
          type: "table",
          title: "Plugin states",
          description: "mattermost_plugin_nodes: nodes reporting each plugin in each state (failed_to_start or failed_to_stay_running = MattermostPluginFailed).",
          id: 45,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 8,
            x: 0,
            y: 35
          },
          targets: [
            target(q('sum by (job, instance, plugin_id, state) (mattermost_plugin_nodes{%(m)s} > 0)'), "", instant=true)
          ],
          fieldConfig: {
            defaults: { unit: "short" },
            overrides: []
          },
          options: {
            showHeader: true,
            cellHeight: "sm",
            footer: {
              show: false,
              reducer: [
                "sum"
              ],
              fields: ""
            }
          },
          transformations: [
            {
              id: "organize",
              options: {
                excludeByName: {
                  Time: true,
                  job: true
                },
                indexByName: {
                  instance: 0,
                  plugin_id: 1,
                  state: 2,
                  Value: 3
                },
                renameByName: {
                  Value: "nodes"
                }
              }
            }
          ]
        },
        {
          type: "table",
          title: "Plugin versions",
          description: "mattermost_plugin_info: each plugin's reported name and version; two rows for one plugin = its nodes run different versions.",
          id: 46,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 8,
            x: 8,
            y: 35
          },
          targets: [
            target(q('max by (job, instance, plugin_id, name, version) (mattermost_plugin_info{%(m)s})'), "", instant=true)
          ],
          fieldConfig: {
            defaults: { unit: "none" },
            overrides: []
          },
          options: {
            showHeader: true,
            cellHeight: "sm",
            footer: {
              show: false,
              reducer: [
                "sum"
              ],
              fields: ""
            }
          },
          transformations: [
            {
              id: "organize",
              options: {
                excludeByName: {
                  Time: true,
                  Value: true,
                  job: true
                },
                indexByName: {
                  instance: 0,
                  plugin_id: 1,
                  name: 2,
                  version: 3
                },
                renameByName: {}
              }
            }
          ]
        },
        {
          type: "timeseries",
          title: "Plugin version skew",
          description: "mattermost_plugin_versions: distinct versions of each plugin across nodes; more than 1 is a skew (MattermostPluginVersionSkew after 30m).",
          id: 47,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 8,
            x: 16,
            y: 35
          },
          targets: [
            target(q('max by (plugin_id) (mattermost_plugin_versions{%(m)s})'), "{{plugin_id}}")
          ],
          fieldConfig: {
            defaults: {
              unit: "short",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 0,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "none",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "row",
          title: "Cluster",
          id: 6,
          collapsed: false,
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 43
          },
          panels: []
        },
        {
          type: "stat",
          title: "Nodes listed",
          description: "mattermost_cluster_nodes: nodes listed by /api/v4/cluster/status (0 when not clustered), and the expected count when --collector.cluster.expected-nodes is set.",
          id: 7,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 4,
            x: 0,
            y: 44
          },
          targets: [
            target(q('mattermost_cluster_nodes{%(m)s}'), "listed {{instance}}"),
            target(q('mattermost_cluster_expected_nodes{%(m)s}'), "expected {{instance}}", ref='B')
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "blue",
                    value: null
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "short"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "stat",
          title: "Nodes unreachable",
          description: "Listed nodes that the cluster cannot reach (mattermost_cluster_node_up == 0).",
          id: 8,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 4,
            x: 4,
            y: 44
          },
          targets: [
            target(q('count by (instance) (mattermost_cluster_node_up{%(m)s} == 0) or sum by (instance) (mattermost_cluster_node_up{%(m)s} * 0)'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "green",
                    value: null
                  },
                  {
                    color: "red",
                    value: 1
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "short"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "stat",
          title: "Versions in cluster",
          description: "mattermost_cluster_versions: distinct versions among reachable nodes; more than 1 is a version skew (normal only during a rolling upgrade).",
          id: 9,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 4,
            x: 8,
            y: 44
          },
          targets: [
            target(q('mattermost_cluster_versions{%(m)s}'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "green",
                    value: null
                  },
                  {
                    color: "orange",
                    value: 2
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "short"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "stat",
          title: "Config hashes in cluster",
          description: "mattermost_cluster_config_hashes: distinct configuration hashes among reachable nodes; more than 1 means a node runs another configuration.",
          id: 10,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 4,
            x: 12,
            y: 44
          },
          targets: [
            target(q('mattermost_cluster_config_hashes{%(m)s}'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "green",
                    value: null
                  },
                  {
                    color: "orange",
                    value: 2
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "short"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "timeseries",
          title: "Version and config skew",
          description: "Distinct versions and config hashes among reachable nodes over time.",
          id: 11,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 8,
            x: 16,
            y: 44
          },
          targets: [
            target(q('mattermost_cluster_versions{%(m)s}'), "versions {{instance}}"),
            target(q('mattermost_cluster_config_hashes{%(m)s}'), "config hashes {{instance}}", ref='B')
          ],
          fieldConfig: {
            defaults: {
              unit: "short",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 0,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "none",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "table",
          title: "Cluster nodes",
          description: "One row per node listed by /api/v4/cluster/status (mattermost_cluster_node_info joined with mattermost_cluster_node_up). An unreachable node has empty fields.",
          id: 12,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 16,
            x: 0,
            y: 48
          },
          targets: [
            target(q('max by (job, instance, id, hostname, ip_address, version, schema_version, config_hash) (mattermost_cluster_node_info{%(m)s}) * on(job, instance, id) group_left() max by (job, instance, id) (mattermost_cluster_node_up{%(m)s})'), "", instant=true) + { format: "table" }
          ],
          fieldConfig: {
            defaults: {
 unit: "none",
              mappings: [
                {
                  type: "value",
                  options: {
                    "0": {
                      text: "DOWN",
                      color: "red",
                      index: 0
                    },
                    "1": {
                      text: "UP",
                      color: "green",
                      index: 1
                    }
                  }
                }
              ]
            },
            overrides: [
              {
                matcher: {
                  id: "byName",
                  options: "up"
                },
                properties: [
                  {
                    id: "custom.cellOptions",
                    value: {
                      type: "color-background"
                    }
                  },
                  {
                    id: "thresholds",
                    value: {
                      mode: "absolute",
                      steps: [
                        {
                          color: "red",
                          value: null
                        },
                        {
                          color: "green",
                          value: 1
                        }
                      ]
                    }
                  }
                ]
              }
            ]
          },
          options: {
            showHeader: true,
            cellHeight: "sm",
            footer: {
              show: false,
              reducer: [
                "sum"
              ],
              fields: ""
            },
            sortBy: [
              {
                displayName: "hostname",
                desc: false
              }
            ]
          },
          transformations: [
            {
              id: "organize",
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  job: true
                },
                indexByName: {
                  instance: 0,
                  hostname: 1,
                  id: 2,
                  ip_address: 3,
                  version: 4,
                  schema_version: 5,
                  config_hash: 6,
                  Value: 7
                },
                renameByName: {
                  Value: "up",
                  ip_address: "gossip address"
                }
              }
            }
          ]
        },
        {
          type: "row",
          title: "SAML",
          id: 13,
          collapsed: false,
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 56
          },
          panels: []
        },
        {
          type: "stat",
          title: "SAML enabled",
          description: "mattermost_saml_enabled: EnableSaml from the server's client configuration. Certificate alerts only fire where this is 1.",
          id: 14,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 4,
            x: 0,
            y: 57
          },
          targets: [
            target(q('mattermost_saml_enabled{%(m)s}'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              mappings: [
                {
                  type: "value",
                  options: {
                    "0": {
                      text: "off",
                      color: "text",
                      index: 0
                    },
                    "1": {
                      text: "on",
                      color: "blue",
                      index: 1
                    }
                  }
                }
              ],
              color: {
                mode: "thresholds"
              },
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "text",
                    value: null
                  }
                ]
              },
              unit: "none"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "stat",
          title: "SAML certificate files",
          description: "mattermost_saml_certificate_present: whether each SAML file is present in Mattermost's config store (not whether it is valid). idp is always required with SAML; public and private_key when encryption or request signing is on.",
          id: 15,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 8,
            x: 4,
            y: 57
          },
          targets: [
            target(q('mattermost_saml_certificate_present{%(m)s}'), "{{certificate}} {{instance}}")
          ],
          fieldConfig: {
            defaults: {
              mappings: [
                {
                  type: "value",
                  options: {
                    "0": {
                      text: "missing",
                      color: "red",
                      index: 0
                    },
                    "1": {
                      text: "present",
                      color: "green",
                      index: 1
                    }
                  }
                }
              ],
              color: {
                mode: "thresholds"
              },
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "red",
                    value: null
                  },
                  {
                    color: "green",
                    value: 1
                  }
                ]
              },
              unit: "none"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "stat",
          title: "SAML certificate days left",
          description: "Days until mattermost_saml_certificate_expiry_timestamp_seconds: public = Mattermost's service provider certificate, idp = the IdP's earliest signing certificate (from its metadata). Orange under 30 days, red under 7 (MattermostSAMLCertificateExpiringSoon).",
          id: 48,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 8,
            x: 12,
            y: 57
          },
          targets: [
            target(q('(mattermost_saml_certificate_expiry_timestamp_seconds{%(m)s} - time()) / 86400'), "{{certificate}} {{instance}}")
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "red",
                    value: null
                  },
                  {
                    color: "orange",
                    value: 7
                  },
                  {
                    color: "green",
                    value: 30
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "none",
              decimals: 0
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "stat",
          title: "IdP metadata fetch",
          description: "mattermost_saml_idp_metadata_fetch_success: whether the exporter's last fetch of the IdP metadata worked (at 0 the idp days left are from the last good fetch; the exporter's log says why).",
          id: 49,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 4,
            x: 20,
            y: 57
          },
          targets: [
            target(q('mattermost_saml_idp_metadata_fetch_success{%(m)s}'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "red",
                    value: null
                  },
                  {
                    color: "green",
                    value: 1
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "none",
              mappings: [
                {
                  type: "value",
                  options: {
                    "0": {
                      text: "failing",
                      color: "red",
                      index: 0
                    },
                    "1": {
                      text: "OK",
                      color: "green",
                      index: 1
                    }
                  }
                }
              ]
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "row",
          title: "Users",
          id: 16,
          collapsed: false,
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 61
          },
          panels: []
        },
        {
          type: "timeseries",
          title: "Users by status",
          description: "mattermost_users: active users by status (bots excluded unless --collector.users.include-bots). New and deactivated users appear at the next user list refresh.",
          id: 17,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 62
          },
          targets: [
            target(q('sum by (status) (mattermost_users{%(m)s})'), "{{status}}")
          ],
          fieldConfig: {
            defaults: {
              unit: "short",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 20,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "normal",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "bargauge",
          title: "Users now",
          description: "mattermost_users: current counts by status.",
          id: 18,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 6,
            x: 12,
            y: 62
          },
          targets: [
            target(q('sum by (status) (mattermost_users{%(m)s})'), "{{status}}", instant=true)
          ],
          fieldConfig: {
            defaults: {
              color: {
                mode: "palette-classic"
              },
              min: 0,
              unit: "short"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            orientation: "horizontal",
            displayMode: "gradient",
            showUnfilled: true,
            valueMode: "color",
            namePlacement: "auto",
            sizing: "auto",
            minVizHeight: 16,
            minVizWidth: 8,
            maxVizHeight: 300
          }
        },
        {
          type: "stat",
          title: "Counts age",
          description: "How old the served user counts are (time() - mattermost_users_sweep_timestamp_seconds).",
          id: 19,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 6,
            x: 18,
            y: 62
          },
          targets: [
            target(q('time() - max by (instance) (mattermost_users_sweep_timestamp_seconds{%(m)s})'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              unit: "s",
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "green",
                    value: null
                  },
                  {
                    color: "orange",
                    value: 300
                  }
                ]
              },
              color: {
                mode: "thresholds"
              }
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "stat",
          title: "User list cache",
          description: "mattermost_exporter_users_cached: user ids in the exporter's cache, and the age of the last completed refresh of the user list.",
          id: 20,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 6,
            x: 18,
            y: 66
          },
          targets: [
            target(q('mattermost_exporter_users_cached{%(m)s}'), "cached ids {{instance}}"),
            target(q('time() - mattermost_exporter_users_refresh_timestamp_seconds{%(m)s}'), "refresh age {{instance}}", ref='B')
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "blue",
                    value: null
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "short"
            },
            overrides: [
              {
                matcher: {
                  id: "byFrameRefID",
                  options: "B"
                },
                properties: [
                  {
                    id: "unit",
                    value: "s"
                  }
                ]
              }
            ]
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "timeseries",
          title: "Manual statuses",
          description: "mattermost_users_manual: of the users above, those whose status was set by hand.",
          id: 21,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 70
          },
          targets: [
            target(q('sum by (status) (mattermost_users_manual{%(m)s})'), "{{status}}")
          ],
          fieldConfig: {
            defaults: {
              unit: "short",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 20,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "normal",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "timeseries",
          title: "User list refresh duration",
          description: "mattermost_exporter_users_refresh_duration_seconds: how long the last walk of the user list took (runs in the background, off the scrape path).",
          id: 22,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 12,
            x: 12,
            y: 70
          },
          targets: [
            target(q('mattermost_exporter_users_refresh_duration_seconds{%(m)s}'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              unit: "s",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 0,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "none",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "row",
          title: "Exporter",
          id: 23,
          collapsed: false,
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 78
          },
          panels: []
        },
        {
          type: "timeseries",
          title: "Collector success",
          description: "mattermost_exporter_collector_success: 1 when that area's last collection worked. 0 with Mattermost up is usually a permission problem (see the exporter's log).",
          id: 24,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 79
          },
          targets: [
            target(q('mattermost_exporter_collector_success{%(m)s}'), "{{collector}} {{instance}}")
          ],
          fieldConfig: {
            defaults: {
              unit: "short",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 0,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "none",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0,
              max: 1,
              mappings: [
                {
                  type: "value",
                  options: {
                    "0": {
                      text: "fail",
                      index: 0
                    },
                    "1": {
                      text: "ok",
                      index: 1
                    }
                  }
                }
              ]
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "timeseries",
          title: "Collector duration",
          description: "mattermost_exporter_collector_duration_seconds: how long each collector took on a scrape.",
          id: 25,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 12,
            x: 12,
            y: 79
          },
          targets: [
            target(q('mattermost_exporter_collector_duration_seconds{%(m)s}'), "{{collector}} {{instance}}")
          ],
          fieldConfig: {
            defaults: {
              unit: "s",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 0,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "none",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "timeseries",
          title: "API requests",
          description: "Requests the exporter sent to Mattermost, per endpoint and HTTP status code (code 0 = transport error; 429 = rate limited).",
          id: 26,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 87
          },
          targets: [
            target(q('sum by (endpoint, code) (rate(mattermost_exporter_api_requests_total{%(m)s}[$__rate_interval]))'), "{{endpoint}} {{code}}")
          ],
          fieldConfig: {
            defaults: {
              unit: "reqps",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 0,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "none",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "timeseries",
          title: "Rate limit remaining",
          description: "mattermost_exporter_ratelimit_remaining: last X-Ratelimit-Remaining sent by Mattermost (only when its rate limiter is on).",
          id: 27,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 12,
            x: 12,
            y: 87
          },
          targets: [
            target(q('mattermost_exporter_ratelimit_remaining{%(m)s}'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              unit: "short",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 0,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "none",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "timeseries",
          title: "Users collector work",
          description: "Status sweeps per second and their failures (a failed or late sweep serves the previous counts), and failed refreshes of the user id list (mattermost_exporter_users_*_total).",
          id: 28,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 95
          },
          targets: [
            target(q('sum by (instance) (rate(mattermost_exporter_users_sweeps_total{%(m)s}[$__rate_interval]))'), "sweeps {{instance}}"),
            target(q('sum by (instance) (rate(mattermost_exporter_users_sweep_errors_total{%(m)s}[$__rate_interval]))'), "sweep errors {{instance}}", ref='B'),
            target(q('sum by (instance) (rate(mattermost_exporter_users_refresh_errors_total{%(m)s}[$__rate_interval]))'), "refresh errors {{instance}}", ref='C')
          ],
          fieldConfig: {
            defaults: {
              unit: "ops",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 0,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "none",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "timeseries",
          title: "Status sweep duration",
          description: "mattermost_exporter_users_sweep_duration_seconds: duration of the POST /users/status/ids sweep behind the served counts.",
          id: 29,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 12,
            x: 12,
            y: 95
          },
          targets: [
            target(q('mattermost_exporter_users_sweep_duration_seconds{%(m)s}'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              unit: "s",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 0,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "none",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "stat",
          title: "Items not exported",
          description: "mattermost_exporter_jobs_dropped_types and mattermost_exporter_plugins_dropped: job types and plugins over the exporter's limits (20 unknown job types, 200 plugins), left out of the metrics.",
          id: 50,
          datasource: ds,
          gridPos: {
            h: 4,
            w: 24,
            x: 0,
            y: 103
          },
          targets: [
            target(q('mattermost_exporter_jobs_dropped_types{%(m)s}'), "job types {{instance}}"),
            target(q('mattermost_exporter_plugins_dropped{%(m)s}'), "plugins {{instance}}", ref='B')
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "green",
                    value: null
                  },
                  {
                    color: "orange",
                    value: 1
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "short"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "row",
          title: "Server load and usage (analytics collector: --collector.analytics)",
          id: 51,
          collapsed: false,
          gridPos: {
            h: 1,
            w: 24,
            x: 0,
            y: 107
          },
          panels: []
        },
        {
          type: "timeseries",
          title: "Websocket connections",
          description: "mattermost_websocket_connections: websocket connections to all nodes, from the system console analytics (read at most once per --collector.analytics.interval).",
          id: 52,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 108
          },
          targets: [
            target(q('sum by (instance) (mattermost_websocket_connections{%(m)s})'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              unit: "short",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 0,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "none",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "timeseries",
          title: "Database connections",
          description: "mattermost_db_connections: open connections from all nodes to the master database and the read replicas, from the system console analytics.",
          id: 53,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 12,
            x: 12,
            y: 108
          },
          targets: [
            target(q('sum by (role) (mattermost_db_connections{%(m)s})'), "{{role}}")
          ],
          fieldConfig: {
            defaults: {
              unit: "short",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 0,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "none",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "timeseries",
          title: "Active users (analytics)",
          description: "mattermost_active_users: users active in the last day and the last 31 days; mattermost_user_accounts: active accounts; mattermost_inactive_users: deactivated accounts (bots excluded).",
          id: 54,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 12,
            x: 0,
            y: 116
          },
          targets: [
            target(q('sum by (window) (mattermost_active_users{%(m)s})'), "active in the last {{window}}"),
            target(q('sum(mattermost_user_accounts{%(m)s})'), "accounts", ref='B'),
            target(q('sum(mattermost_inactive_users{%(m)s})'), "deactivated", ref='C')
          ],
          fieldConfig: {
            defaults: {
              unit: "short",
              custom: {
                drawStyle: "line",
                lineWidth: 1,
                fillOpacity: 0,
                showPoints: "never",
                spanNulls: false,
                stacking: {
                  mode: "none",
                  group: "A"
                }
              },
              color: {
                mode: "palette-classic"
              },
              min: 0
            },
            overrides: []
          },
          options: {
            legend: {
              displayMode: "table",
              placement: "right",
              showLegend: true,
              calcs: [
                "lastNotNull"
              ]
            },
            tooltip: {
              mode: "multi",
              sort: "desc"
            }
          }
        },
        {
          type: "stat",
          title: "Content",
          description: "mattermost_posts, mattermost_channels and mattermost_teams from the system console analytics.",
          id: 55,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 8,
            x: 12,
            y: 116
          },
          targets: [
            target(q('sum(mattermost_posts{%(m)s})'), "posts"),
            target(q('sum by (type) (mattermost_channels{%(m)s})'), "{{type}} channels", ref='B'),
            target(q('sum(mattermost_teams{%(m)s})'), "teams", ref='C')
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "blue",
                    value: null
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "short"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        },
        {
          type: "stat",
          title: "Analytics age",
          description: "Time since the analytics were received (mattermost_analytics_timestamp_seconds); up to --collector.analytics.interval (5m) is normal.",
          id: 56,
          datasource: ds,
          gridPos: {
            h: 8,
            w: 4,
            x: 20,
            y: 116
          },
          targets: [
            target(q('time() - mattermost_analytics_timestamp_seconds{%(m)s}'), "{{instance}}")
          ],
          fieldConfig: {
            defaults: {
              thresholds: {
                mode: "absolute",
                steps: [
                  {
                    color: "green",
                    value: null
                  },
                  {
                    color: "orange",
                    value: 900
                  }
                ]
              },
              color: {
                mode: "thresholds"
              },
              unit: "s"
            },
            overrides: []
          },
          options: {
            reduceOptions: {
              calcs: [
                "lastNotNull"
              ],
              fields: "",
              values: false
            },
            colorMode: "background",
            graphMode: "none",
            justifyMode: "auto",
            orientation: "auto",
            textMode: "auto",
            wideLayout: true,
            showPercentChange: false
          }
        }
      ],
      refresh: c.dashboardRefresh,
      schemaVersion: 39,
      tags: c.dashboardTags,
      templating: {
        list: [
          {
            type: "datasource",
            name: "datasource",
            label: "Data source",
            query: "prometheus",
            current: {},
            hide: 0,
            includeAll: false,
            multi: false,
            options: [],
            refresh: 1,
            regex: "",
            skipUrlSync: false
          },
          {
            type: "query",
            name: "job",
            label: "Job",
            datasource: ds,
            definition: jobQuery,
            query: {
              query: jobQuery,
              refId: "PrometheusVariableQueryEditor-VariableQuery",
              qryType: 1
            },
            refresh: 2,
            regex: "",
            sort: 1,
            multi: true,
            includeAll: true,
            current: {},
            options: [],
            hide: 0,
            skipUrlSync: false
          },
          {
            type: "query",
            name: "instance",
            label: "Instance",
            datasource: ds,
            definition: instanceQuery,
            query: {
              query: instanceQuery,
              refId: "PrometheusVariableQueryEditor-VariableQuery",
              qryType: 1
            },
            refresh: 2,
            regex: "",
            sort: 1,
            multi: true,
            includeAll: true,
            current: {},
            options: [],
            hide: 0,
            skipUrlSync: false
          }
        ]
      },
      time: {
        from: "now-6h",
        to: "now"
      },
      timepicker: {},
      timezone: c.dashboardTimezone,
      title: c.dashboardTitle,
      uid: c.dashboardUID,
      version: 1,
      weekStart: ""
    },
  },
}
