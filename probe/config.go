// Package probe runs the exporter's Mattermost targets in both modes: the
// config file (--config.file, LoadFile) names targets served on
// /probe?target=<name>; the single-target flags make a fleet of one
// (NewTarget, Options.OneTarget) served on /metrics. Fleet (fleet.go) holds
// the targets, reloads them (SIGHUP, /-/reload) and starts each one's
// mmclient.Client and collector.Exporter; ScrapeHandler (handler.go) serves
// /probe and /metrics alike. Only names from the config are accepted: the
// URL and token of a target never come from the request.
//
// A started target's memory (docs/fleet-memory.md, BenchmarkProbe1000Targets)
// is mostly its kept-alive connections: fleet targets get smaller HTTP/1.1
// buffers and HTTP/2 frames than mmclient's default transport
// (transport.go), and the fleet closes a target's connections when it stops
// it for idleness.
package probe

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/mmexporter/mattermost_exporter/collector"
	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// maxConfigSize bounds the config file.
const maxConfigSize = 4 << 20

// maxNameLen bounds a target or module name.
const maxNameLen = 64

// Bounds of the targets and of each target's labels (every label is added
// to every series of the target's probes).
const (
	maxTargets      = 10000
	maxLabels       = 32
	maxLabelNameLen = 128
)

// namePattern is what a target or module name may hold: it is the value of
// ?target=, so nothing that needs escaping in a URL, a header or a log line.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// ValidName reports whether s can be the name of a target.
func ValidName(s string) bool {
	return len(s) <= maxNameLen && namePattern.MatchString(s)
}

// Config is the parsed --config.file.
type Config struct {
	// Modules are named sets of collectors targets can refer to.
	Modules map[string]Module `yaml:"modules"`
	Targets []TargetConfig    `yaml:"targets"`
}

// Module is a named set of collectors.
type Module struct {
	Collectors []string `yaml:"collectors"`
}

// TargetConfig is one Mattermost deployment.
type TargetConfig struct {
	Name      string `yaml:"name"`       // the value of ?target=
	URL       string `yaml:"url"`        // server root, as --mattermost.url
	TokenFile string `yaml:"token_file"` // as --mattermost.token-file; never the token inline
	TLS       struct {
		CAFile             string `yaml:"ca_file"`
		InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	} `yaml:"tls"`
	// Module names a module; Collectors lists collectors. At most one;
	// neither: the --collector.<name> flags.
	Module     string   `yaml:"module"`
	Collectors []string `yaml:"collectors"`
	// Settings are the collector settings (cluster: {max_nodes: 10});
	// those not given keep their --collector.* flag's value.
	collector.Settings `yaml:",inline"`
	// Labels are added to every metric of this target's probes.
	Labels map[string]string `yaml:"labels"`
}

// Target is a validated target with its token.
type Target struct {
	TargetConfig
	Options   collector.TargetOptions
	token     string
	tokenSum  [sha256.Size]byte
	tokenWhat string // names the token file in errors: a flag or a key
	// cacheFileTaken is --collector.users.cache-file when another
	// server's target uses it: this target keeps no cache file.
	cacheFileTaken string
}

// NewTarget returns the target of the single-target mode: tc comes from
// the flags, the token from tc.TokenFile (sum is the file's SHA-256, and
// tokenFlag names it in errors) or, without one, from the environment.
func NewTarget(tc TargetConfig, token string, sum [sha256.Size]byte, tokenFlag string) *Target {
	return &Target{TargetConfig: tc, token: token, tokenSum: sum, tokenWhat: tokenFlag}
}

// TokenReader reads a token file; what names the file in errors.
type TokenReader func(what, path string) (string, [sha256.Size]byte, error)

// LoadFile reads, parses and validates the config file, and reads every
// token file. Errors are one line naming the target and the key.
func LoadFile(path string) ([]*Target, error) {
	b, err := readSmall(path, maxConfigSize, "", "")
	if err != nil {
		return nil, fmt.Errorf("config file %q: %w", path, err)
	}
	targets, err := Parse(b, ReadTokenFile)
	if err != nil {
		return nil, fmt.Errorf("config file %q: %w", path, err)
	}
	return targets, nil
}

// Parse parses and validates a config and reads its token files.
func Parse(b []byte, readToken TokenReader) ([]*Target, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty; it needs a targets: list")
		}
		return nil, err
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		return nil, errors.New("holds more than one YAML document")
	}
	// Counted before the targets are decoded and checked one by one.
	if len(root.Content) == 1 {
		if list := mappingValue(root.Content[0], "targets"); list != nil && len(list.Content) > maxTargets {
			return nil, fmt.Errorf("targets: %d targets, at most %d; split them among several exporters", len(list.Content), maxTargets)
		}
	}
	var cfg Config
	if err := decodeStrict(b, &root, &cfg); err != nil {
		return nil, err
	}
	if len(cfg.Targets) == 0 {
		return nil, errors.New("targets: no target; list at least one")
	}
	if err := checkModules(cfg.Modules); err != nil {
		return nil, err
	}
	return checkTargets(cfg, readToken)
}

// decodeStrict decodes the document, refusing unknown keys. An unknown key
// inside a target is reported with the target's name.
func decodeStrict(src []byte, root *yaml.Node, cfg *Config) error {
	if len(root.Content) == 1 {
		if err := checkTargetKeys(root.Content[0]); err != nil {
			return err
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return errors.New(yamlCause(err, true))
	}
	return nil
}

// checkTargetKeys decodes each entry of targets: on its own, so that an
// unknown or mistyped key names its target.
func checkTargetKeys(doc *yaml.Node) error {
	list := mappingValue(doc, "targets")
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil // reported by the full decode or the empty check
	}
	for i, entry := range list.Content {
		b, err := yaml.Marshal(entry)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		var tc TargetConfig
		if err := dec.Decode(&tc); err != nil {
			return fmt.Errorf("%s: %s", targetRef(i, entry), yamlCause(err, false))
		}
	}
	return nil
}

// mappingValue returns the value of key in a mapping node, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// targetRef names entry i of targets: by its name when it has a usable one.
func targetRef(i int, entry *yaml.Node) string {
	if v := mappingValue(entry, "name"); v != nil && ValidName(v.Value) {
		return fmt.Sprintf("target %q (targets[%d], line %d)", v.Value, i, entry.Line)
	}
	return fmt.Sprintf("targets[%d] (line %d)", i, entry.Line)
}

var (
	goTypeName = regexp.MustCompile(` in type [A-Za-z0-9_.*\[\]]+`)
	yamlLine   = regexp.MustCompile(`line [0-9]+: `)
)

// yamlCause turns the decoder's error into one line without the Go type
// names ("field token not found in type probe.TargetConfig"). Without
// keepLines the line numbers go (they count lines of one re-encoded target).
func yamlCause(err error, keepLines bool) string {
	s := strings.ReplaceAll(err.Error(), "\n", "; ")
	s = strings.TrimPrefix(s, "yaml: ")
	s = strings.TrimPrefix(s, "unmarshal errors:; ")
	s = goTypeName.ReplaceAllString(s, "")
	if !keepLines {
		s = yamlLine.ReplaceAllString(s, "")
	}
	s = strings.ReplaceAll(s, "field token not found", "field token not found (tokens are never inline: put the token in a file and give its path as token_file)")
	return strings.TrimSpace(s)
}

func checkModules(mods map[string]Module) error {
	for name, m := range mods {
		if !ValidName(name) {
			return fmt.Errorf("modules: name %q: use letters, digits, '.', '_' and '-', at most %d characters, starting with a letter or digit", name, maxNameLen)
		}
		if err := checkCollectors(m.Collectors); err != nil {
			return fmt.Errorf("module %q: collectors: %w", name, err)
		}
	}
	return nil
}

func checkCollectors(names []string) error {
	if len(names) == 0 {
		return errors.New("empty; list at least one collector")
	}
	known := collector.Names()
	for i, n := range names {
		if !slices.Contains(known, n) {
			return fmt.Errorf("unknown collector %q (known: %s)", n, strings.Join(known, ", "))
		}
		if slices.Contains(names[:i], n) {
			return fmt.Errorf("collector %q listed twice", n)
		}
	}
	return nil
}

func checkTargets(cfg Config, readToken TokenReader) ([]*Target, error) {
	seen := make(map[string]int, len(cfg.Targets))
	cas := caFiles{}
	out := make([]*Target, 0, len(cfg.Targets))
	for i, tc := range cfg.Targets {
		ref := fmt.Sprintf("targets[%d]", i)
		if ValidName(tc.Name) {
			ref = fmt.Sprintf("target %q", tc.Name)
		}
		if first, dup := seen[tc.Name]; dup {
			return nil, fmt.Errorf("%s: name: duplicate name, already used by targets[%d]", ref, first)
		}
		seen[tc.Name] = i
		t, err := checkTarget(tc, cfg.Modules, readToken, cas)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		out = append(out, t)
	}
	if err := assignCacheFiles(out, collector.UsersCacheFileFlag()); err != nil {
		return nil, err
	}
	return out, nil
}

// assignCacheFiles gives each users cache file to the targets of one
// server, so that no two servers overwrite each other's file: two targets
// of different servers naming the same users: cache_file are refused. The
// file of --collector.users.cache-file (flagFile), the cache file of every
// target naming none, serves the targets of the first server running the
// users collector; the targets of other servers keep none.
func assignCacheFiles(targets []*Target, flagFile string) error {
	owners := map[string]*Target{} // file -> first target using it
	for _, t := range targets {
		names := t.Options.Collectors
		if names == nil {
			names = collector.EnabledCollectors()
		}
		if !slices.Contains(names, "users") {
			continue
		}
		own := t.Options.Users.CacheFile
		file := flagFile
		if own != nil {
			file = *own
		}
		if file == "" {
			continue
		}
		first, used := owners[file]
		switch {
		case !used:
			owners[file] = t
		case sameServer(first.URL, t.URL):
		case own != nil:
			return fmt.Errorf("target %q: users: cache_file: %q is already the cache file of target %q, another Mattermost server; give each server its own file", t.Name, file, first.Name)
		default:
			none := ""
			t.Options.Users.CacheFile = &none
			t.cacheFileTaken = file
		}
	}
	return nil
}

// sameServer reports whether two validated target URLs name one server.
func sameServer(a, b string) bool {
	na, errA := mmclient.ParseBaseURL(a)
	nb, errB := mmclient.ParseBaseURL(b)
	return errA == nil && errB == nil && na == nb
}

// caFiles holds the outcome of reading each CA file of one config: many
// targets often name one file.
type caFiles map[string]error

func (c caFiles) check(path string) error {
	err, done := c[path]
	if !done {
		_, err = mmclient.LoadCAPool(path)
		c[path] = err
	}
	return err
}

func checkTarget(tc TargetConfig, mods map[string]Module, readToken TokenReader, cas caFiles) (*Target, error) {
	if tc.Name == "" {
		return nil, errors.New("name: missing; it is the value of ?target=")
	}
	if !ValidName(tc.Name) {
		return nil, fmt.Errorf("name: %q: use letters, digits, '.', '_' and '-', at most %d characters, starting with a letter or digit", tc.Name, maxNameLen)
	}
	if _, err := mmclient.ParseBaseURL(tc.URL); err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if tc.TokenFile == "" {
		return nil, errors.New("token_file: missing; give the file holding the Mattermost API token")
	}
	if tc.TLS.CAFile != "" {
		if err := cas.check(tc.TLS.CAFile); err != nil {
			return nil, fmt.Errorf("tls: ca_file: %w", err)
		}
	}
	opts, err := targetOptions(tc, mods)
	if err != nil {
		return nil, err
	}
	if err := checkLabels(tc.Labels); err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	token, sum, err := readToken("token_file", tc.TokenFile)
	if err != nil {
		return nil, err
	}
	return &Target{TargetConfig: tc, Options: opts, token: token, tokenSum: sum, tokenWhat: "token_file"}, nil
}

func targetOptions(tc TargetConfig, mods map[string]Module) (collector.TargetOptions, error) {
	o := collector.TargetOptions{Settings: tc.Settings}
	switch {
	case tc.Module != "" && tc.Collectors != nil:
		return o, errors.New("module and collectors: give one, not both")
	case tc.Module != "":
		m, ok := mods[tc.Module]
		if !ok {
			return o, fmt.Errorf("module: %q is not defined in modules", tc.Module)
		}
		o.Collectors = slices.Clone(m.Collectors)
	case tc.Collectors != nil:
		if err := checkCollectors(tc.Collectors); err != nil {
			return o, fmt.Errorf("collectors: %w", err)
		}
		o.Collectors = slices.Clone(tc.Collectors)
	}
	if f := tc.Users.CacheFile; f != nil && *f != "" && !filepath.IsAbs(*f) {
		return o, fmt.Errorf("users: cache_file: must be an absolute path, got %q", *f)
	}
	err := o.Validate()
	var se *collector.SettingError
	if errors.As(err, &se) && !se.FromFlag {
		// users.batch-size -> users: batch_size
		key := strings.Replace(strings.ReplaceAll(se.Setting, "-", "_"), ".", ": ", 1)
		return o, fmt.Errorf("%s: %s", key, se.Problem)
	}
	return o, err
}

// reservedLabels are set by Prometheus from the scrape config, or are
// labels of the build info served with every scrape
// (prometheus/common/version's collector, TestReservedLabels); the labels
// of the collectors' metrics come from collector.LabelNames. A target label
// of one of these names would make those series fail to gather.
var reservedLabels = []string{
	"instance", "job",
	"version", "revision", "branch", "goversion", "goos", "goarch", "tags",
}

var collectorLabels = sync.OnceValue(collector.LabelNames)

func checkLabels(labels map[string]string) error {
	if len(labels) > maxLabels {
		return fmt.Errorf("%d labels, at most %d", len(labels), maxLabels)
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if len(k) > maxLabelNameLen {
			return fmt.Errorf("label name %q…: %d bytes, at most %d", k[:32], len(k), maxLabelNameLen)
		}
		if !model.LegacyValidation.IsValidLabelName(k) || strings.HasPrefix(k, "__") {
			return fmt.Errorf("%q is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", k)
		}
		if slices.Contains(reservedLabels, k) || slices.Contains(collectorLabels(), k) {
			return fmt.Errorf("%q is set by Prometheus or is a label of the exporter's metrics; use another name", k)
		}
		if v := labels[k]; len(v) > collector.MaxLabelValueLen {
			return fmt.Errorf("%q: value of %d bytes, at most %d", k, len(v), collector.MaxLabelValueLen)
		}
	}
	return nil
}
