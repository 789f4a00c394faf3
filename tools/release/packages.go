package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

// packageFormats are the nfpm packagers a release builds for each linux target.
var packageFormats = []string{"deb", "rpm"}

// envFilePath is where each format's systems keep a service's environment file.
var envFilePath = map[string]string{
	"deb": "/etc/default/mattermost_exporter",
	"rpm": "/etc/sysconfig/mattermost_exporter",
}

// packageUser is the static system user the packaged unit runs as (deploy/packages/*.sysusers).
const packageUser = "mattermost_exporter"

// packagedUnit derives the unit a package installs from deploy/systemd's, hardened as it is:
// the binary in /usr/bin, the static system user instead of DynamicUser (whose implied
// hardening the unit already sets explicitly), the format's environment file. Each replaced line
// must occur exactly once, so that a change of the source unit fails here instead of shipping a
// unit the packages do not expect.
func packagedUnit(src, format string) (string, error) {
	if !strings.HasPrefix(src, "#") {
		return "", fmt.Errorf("unit does not start with its comment block")
	}
	repl := []struct{ old, new string }{
		{"ExecStart=/usr/local/bin/" + binaryName + " ", "ExecStart=/usr/bin/" + binaryName + " "},
		{"\nDynamicUser=yes\n", "\nUser=" + packageUser + "\nGroup=" + packageUser + "\n"},
		{"EnvironmentFile=-/etc/default/mattermost_exporter\n", "EnvironmentFile=-" + envFilePath[format] + "\n"},
	}
	for _, r := range repl {
		if n := strings.Count(src, r.old); n != 1 {
			return "", fmt.Errorf("unit has %q %d times, want once", strings.TrimSpace(r.old), n)
		}
		src = strings.Replace(src, r.old, r.new, 1)
	}
	head := "# Installed by the mattermost-exporter package: deploy/systemd/mattermost_exporter.service with\n" +
		"# the binary in /usr/bin, User=" + packageUser + " (made by sysusers.d) instead of DynamicUser,\n" +
		"# and " + envFilePath[format] + " for the URL and flags. Override with a drop-in\n" +
		"# (systemctl edit mattermost_exporter), not by editing this file.\n#\n"
	return head + src, nil
}

// packagedEnv is deploy/systemd's example environment file, naming the format's path.
func packagedEnv(src, format string) string {
	return strings.ReplaceAll(src, envFilePath["deb"], envFilePath[format])
}

// genDir holds the files packages.go derives for nfpm.yaml's ${GEN}.
func (r *release) genDir() string { return filepath.Join(r.dist, "build", "packages") }

func (r *release) writePackageFiles() error {
	unit, err := os.ReadFile(filepath.Join(r.repo, "deploy", "systemd", "mattermost_exporter.service"))
	if err != nil {
		return err
	}
	env, err := os.ReadFile(filepath.Join(r.repo, "deploy", "systemd", "mattermost_exporter.env.example"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.genDir(), 0o755); err != nil {
		return err
	}
	files := map[string]string{"token": ""}
	for _, f := range packageFormats {
		u, err := packagedUnit(string(unit), f)
		if err != nil {
			return fmt.Errorf("deploy/systemd/mattermost_exporter.service: %w", err)
		}
		files["mattermost_exporter.service."+f] = u
		files["mattermost_exporter.env."+f] = packagedEnv(string(env), f)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(r.genDir(), name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// packages builds a .deb and an .rpm for every linux target from deploy/packages/nfpm.yaml.
func (r *release) packages() error {
	if err := r.writePackageFiles(); err != nil {
		return err
	}
	for _, t := range r.targets {
		if t.OS != "linux" {
			continue
		}
		for _, format := range packageFormats {
			path, err := r.buildPackage(t, format)
			if err != nil {
				return fmt.Errorf("%s %s: %w", t.spec(), format, err)
			}
			logArtifact(r.repo, path)
		}
	}
	return nil
}

// packageInfo reads nfpm.yaml for one target and format, with the variables it names.
func (r *release) packageInfo(t target, format string) (*nfpm.Info, error) {
	vars := map[string]string{
		"VERSION":  r.info.Version,
		"ARCH":     t.nfpmArch(),
		"BINARY":   r.binPath(t),
		"REPO":     r.repo,
		"GEN":      r.genDir(),
		"FORMAT":   format,
		"ENV_FILE": envFilePath[format],
	}
	cfgPath := filepath.Join(r.repo, "deploy", "packages", "nfpm.yaml")
	var missing []string
	cfg, err := nfpm.ParseFileWithEnvMapping(cfgPath, func(k string) string {
		v, ok := vars[k]
		if !ok && !strings.HasPrefix(k, "NFPM_") { // nfpm asks for its signing passphrases
			missing = append(missing, k)
		}
		return v
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: unknown variables %v", cfgPath, missing)
	}
	info, err := cfg.Get(format)
	if err != nil {
		return nil, err
	}
	info.MTime = r.info.Epoch
	for _, s := range []*string{&info.Scripts.PreInstall, &info.Scripts.PostInstall, &info.Scripts.PreRemove, &info.Scripts.PostRemove} {
		if *s != "" && !filepath.IsAbs(*s) {
			*s = filepath.Join(r.repo, *s)
		}
	}
	return nfpm.WithDefaults(info), nil
}

func (r *release) buildPackage(t target, format string) (string, error) {
	info, err := r.packageInfo(t, format)
	if err != nil {
		return "", err
	}
	pkg, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(r.dist, pkg.ConventionalFileName(info))
	info.Target = dst
	return dst, writeFileAtomic(dst, func(w io.Writer) error { return pkg.Package(info, w) })
}
