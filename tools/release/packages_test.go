package main

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// unitDirectives parses a unit file into key -> values, continuation lines joined.
func unitDirectives(t *testing.T, unit string) map[string][]string {
	t.Helper()
	d := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(unit, "\\\n", " ")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("unit line without '=': %q", line)
		}
		d[k] = append(d[k], strings.Join(strings.Fields(v), " "))
	}
	return d
}

// TestPackagedUnit: the packages' unit is deploy/systemd's with every directive kept, except
// the binary's path, the static user for DynamicUser and the format's environment file; the
// users id cache lives in its StateDirectory. A source unit that lost a line the derivation
// replaces is an error, not a silently different unit.
func TestPackagedUnit(t *testing.T) {
	srcBytes, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "systemd", "mattermost_exporter.service"))
	if err != nil {
		t.Fatal(err)
	}
	src := unitDirectives(t, string(srcBytes))
	if got := src["StateDirectory"]; !slices.Equal(got, []string{"mattermost_exporter"}) {
		t.Errorf("deploy unit StateDirectory=%v, want mattermost_exporter", got)
	}
	if !strings.Contains(src["ExecStart"][0], "--collector.users.cache-file=${STATE_DIRECTORY}/users.ids") {
		t.Errorf("deploy unit ExecStart keeps no users id cache in the StateDirectory: %s", src["ExecStart"][0])
	}
	for _, format := range packageFormats {
		unit, err := packagedUnit(string(srcBytes), format)
		if err != nil {
			t.Fatal(err)
		}
		got := unitDirectives(t, unit)
		want := maps.Clone(src)
		delete(want, "DynamicUser")
		want["User"] = []string{packageUser}
		want["Group"] = []string{packageUser}
		want["EnvironmentFile"] = []string{"-" + envFilePath[format]}
		want["ExecStart"] = []string{strings.Replace(src["ExecStart"][0], "/usr/local/bin/", "/usr/bin/", 1)}
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if !slices.Equal(got[k], want[k]) {
				t.Errorf("%s unit: %s=%q, want %q", format, k, got[k], want[k])
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s unit: unexpected %s=%q", format, k, got[k])
			}
		}
	}
	if _, err := packagedUnit(strings.Replace(string(srcBytes), "DynamicUser=yes", "DynamicUser=no", 1), "deb"); err == nil {
		t.Error("packagedUnit accepted a unit without DynamicUser=yes")
	}
}

// packageFile is one path of a package with its permissions.
type packageFile struct {
	path, perm string
}

// wantPackageFiles are the files and the directory of its own a package of the format holds.
func wantPackageFiles(format string) []packageFile {
	files := []packageFile{
		{envFilePath[format], "-rw-r--r--"},
		{"/etc/mattermost_exporter", "drwx------"},
		{"/etc/mattermost_exporter/token", "-rw-------"},
		{"/usr/bin/mattermost_exporter", "-rwxr-xr-x"},
		{"/usr/lib/systemd/system/mattermost_exporter.service", "-rw-r--r--"},
		{"/usr/lib/sysusers.d/mattermost_exporter.conf", "-rw-r--r--"},
		{"/usr/share/doc/mattermost-exporter/LICENSE", "-rw-r--r--"},
		{"/usr/share/doc/mattermost-exporter/NOTICE", "-rw-r--r--"},
		{"/usr/share/doc/mattermost-exporter/README.md", "-rw-r--r--"},
	}
	slices.SortFunc(files, func(a, b packageFile) int { return strings.Compare(a.path, b.path) })
	return files
}

func (r *release) debPath(arch string) string {
	return filepath.Join(r.dist, fmt.Sprintf("mattermost-exporter_%s-1_%s.deb", r.info.Version, arch))
}

func (r *release) rpmPath(arch string) string {
	return filepath.Join(r.dist, fmt.Sprintf("mattermost-exporter-%s-1.%s.rpm", r.info.Version, arch))
}

// TestDeb checks the .deb's control data and file list, installs it into a scratch root with
// dpkg --root (maintainer scripts run outside a chroot with DPKG_ROOT: the system user is made
// there), runs the installed binary, checks the installed unit with systemd-analyze verify,
// then removes (conffiles stay) and purges it (they go).
func TestDeb(t *testing.T) {
	r := builtRelease(t)
	dpkgDeb := needTool(t, "dpkg-deb")
	for arch, goarch := range map[string]string{"amd64": "amd64", "arm64": "arm64"} {
		deb := r.debPath(arch)
		for field, want := range map[string]string{
			"Package": "mattermost-exporter", "Version": r.info.Version + "-1", "Architecture": goarch,
			"Section": "net", "Homepage": imageSource,
		} {
			if got := strings.TrimSpace(runOK(t, dpkgDeb, "-f", deb, field)); got != want {
				t.Errorf("%s: %s: %q, want %q", filepath.Base(deb), field, got, want)
			}
		}
		var got []packageFile
		for _, line := range strings.Split(strings.TrimSpace(runOK(t, dpkgDeb, "-c", deb)), "\n") {
			f := strings.Fields(line)
			path := strings.TrimSuffix(strings.TrimPrefix(f[5], "."), "/")
			if f[1] != "root/root" {
				t.Errorf("%s: %s owned by %s", filepath.Base(deb), path, f[1])
			}
			if strings.HasPrefix(f[0], "d") && path != "/etc/mattermost_exporter" {
				continue // parents: /etc, /usr/bin, ...
			}
			got = append(got, packageFile{path, f[0]})
		}
		if want := wantPackageFiles("deb"); !slices.Equal(got, want) {
			t.Errorf("%s holds\n%v\nwant\n%v", filepath.Base(deb), got, want)
		}
	}

	deb := r.debPath("amd64")
	ctrl := t.TempDir()
	runOK(t, dpkgDeb, "-e", deb, ctrl)
	conffiles, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(conffiles), "/etc/default/mattermost_exporter\n/etc/mattermost_exporter/token\n"; got != want {
		t.Errorf("conffiles:\n%swant:\n%s", got, want)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if fi, err := os.Stat(filepath.Join(ctrl, s)); err != nil || fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("maintainer script %s: %v", s, err)
		}
	}

	dpkg := needTool(t, "dpkg")
	root := scratchRoot(t)
	dpkgRoot := func(args ...string) string {
		return runOK(t, dpkg, append([]string{"--root=" + root, "--force-script-chrootless", "--force-not-root", "--log=/dev/null"}, args...)...)
	}
	dpkgRoot("--install", deb)
	if st := dpkgRoot("--status", "mattermost-exporter"); !strings.Contains(st, "Status: install ok installed") {
		t.Errorf("dpkg --status after install:\n%s", st)
	}
	checkInstalled(t, r, root, "deb")
	passwd, err := os.ReadFile(filepath.Join(root, "etc", "passwd"))
	if err != nil {
		t.Fatalf("postinst made no passwd in the scratch root: %v", err)
	}
	if !strings.Contains(string(passwd), "mattermost_exporter:x:") || !strings.Contains(string(passwd), ":/var/lib/mattermost_exporter:/usr/sbin/nologin\n") {
		t.Errorf("postinst did not make the system user:\n%s", passwd)
	}

	dpkgRoot("--remove", "mattermost-exporter")
	if _, err := os.Stat(filepath.Join(root, "usr", "bin", "mattermost_exporter")); !os.IsNotExist(err) {
		t.Errorf("binary after dpkg --remove: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "etc", "mattermost_exporter", "token")); err != nil {
		t.Errorf("dpkg --remove removed the token conffile: %v", err)
	}
	dpkgRoot("--purge", "mattermost-exporter")
	for _, p := range []string{"etc/mattermost_exporter/token", "etc/default/mattermost_exporter"} {
		if _, err := os.Stat(filepath.Join(root, p)); !os.IsNotExist(err) {
			t.Errorf("/%s after dpkg --purge: %v", p, err)
		}
	}
}

// scratchRoot is an empty root with the dpkg database dpkg --root needs.
func scratchRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// checkInstalled checks a package installed below root: the token's and its directory's modes,
// the binary runs, the unit passes systemd-analyze verify (on a copy whose ExecStart names the
// binary below root, which verify insists exists).
func checkInstalled(t *testing.T, r *release, root, format string) {
	t.Helper()
	for path, want := range map[string]os.FileMode{
		"etc/mattermost_exporter":       os.ModeDir | 0o700,
		"etc/mattermost_exporter/token": 0o600,
		"usr/bin/mattermost_exporter":   0o755,
	} {
		fi, err := os.Stat(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: /%s mode %v, want %v", format, path, fi.Mode(), want)
		}
		if path == "etc/mattermost_exporter/token" && fi.Size() != 0 {
			t.Errorf("%s: the packaged token file is not empty", format)
		}
	}
	bin := filepath.Join(root, "usr", "bin", "mattermost_exporter")
	if out := runOK(t, bin, "--version"); !strings.Contains(out, "version "+r.info.Version+" ") {
		t.Errorf("%s: installed binary --version:\n%s", format, out)
	}
	unit, err := os.ReadFile(filepath.Join(root, "usr", "lib", "systemd", "system", "mattermost_exporter.service"))
	if err != nil {
		t.Fatal(err)
	}
	d := unitDirectives(t, string(unit))
	if d["User"][0] != packageUser || d["EnvironmentFile"][0] != "-"+envFilePath[format] || d["StateDirectory"][0] != "mattermost_exporter" {
		t.Errorf("%s: installed unit User=%v EnvironmentFile=%v StateDirectory=%v", format, d["User"], d["EnvironmentFile"], d["StateDirectory"])
	}
	sa := needTool(t, "systemd-analyze")
	cp := filepath.Join(t.TempDir(), "mattermost_exporter.service")
	if err := os.WriteFile(cp, []byte(strings.Replace(string(unit), "ExecStart=/usr/bin/mattermost_exporter ", "ExecStart="+bin+" ", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sa, "verify", cp).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("%s: systemd-analyze verify of the installed unit: %v\n%s", format, err, out)
	}
}

// TestRPM: the .rpm's header lists the same files as the .deb (the env file in /etc/sysconfig),
// with the same modes and, where the formats do not differ, the same contents; token and env
// file are %config(noreplace); installed with rpm --root (scripts off: they would run chrooted
// into an empty root), its binary runs and its unit verifies.
func TestRPM(t *testing.T) {
	r := builtRelease(t)
	rpm := needTool(t, "rpm")
	rpmFile := r.rpmPath("x86_64")
	q := func(format string) string { return runOK(t, rpm, "-qp", "--qf", format, rpmFile) }
	if got, want := q("%{NAME} %{VERSION} %{RELEASE} %{ARCH} %{LICENSE} %{FILEDIGESTALGO}"), "mattermost-exporter "+r.info.Version+" 1 x86_64 Apache-2.0 8"; got != want {
		t.Errorf("rpm header: %q, want %q", got, want)
	}
	if got := q("%{ARCH}"); got != "x86_64" {
		t.Errorf("arch %s", got)
	}
	if got := runOK(t, rpm, "-qp", "--qf", "%{ARCH}", r.rpmPath("aarch64")); got != "aarch64" {
		t.Errorf("arm64 rpm arch %s", got)
	}
	var got []packageFile
	digests := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(q("[%{FILENAMES} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILEDIGESTS}\n]")), "\n") {
		f := strings.Fields(line + " -")
		got = append(got, packageFile{f[0], f[1]})
		if f[2] != "root:root" {
			t.Errorf("%s owned by %s", f[0], f[2])
		}
		isConfig := f[0] == envFilePath["rpm"] || f[0] == "/etc/mattermost_exporter/token"
		if isConfig != (f[3] == "cn") {
			t.Errorf("%s has flags %q", f[0], f[3])
		}
		if isConfig {
			digests[f[0]] = f[4]
		} else if f[3] != "-" {
			digests[f[0]] = f[3]
		}
	}
	if want := wantPackageFiles("rpm"); !slices.Equal(got, want) {
		t.Errorf("%s header lists\n%v\nwant\n%v", filepath.Base(rpmFile), got, want)
	}
	// Same contents as the .deb's, except the unit and env file, which name their format's path.
	debFiles := t.TempDir()
	runOK(t, needTool(t, "dpkg-deb"), "-x", r.debPath("amd64"), debFiles)
	for _, p := range []string{"/etc/mattermost_exporter/token", "/usr/bin/mattermost_exporter", "/usr/lib/sysusers.d/mattermost_exporter.conf", "/usr/share/doc/mattermost-exporter/LICENSE"} {
		sum, err := sha256File(filepath.Join(debFiles, p))
		if err != nil {
			t.Fatal(err)
		}
		if digests[p] != sum {
			t.Errorf("%s: rpm digest %s, deb file sha256 %s", p, digests[p], sum)
		}
	}
	scripts := runOK(t, rpm, "-qp", "--scripts", rpmFile)
	for _, s := range []string{"postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet", "systemd-sysusers"} {
		if !strings.Contains(scripts, s) {
			t.Errorf("rpm scripts lack %q", s)
		}
	}

	root := t.TempDir()
	runOK(t, rpm, "--root", root, "--initdb")
	runOK(t, rpm, "--root", root, "--install", "--nodeps", "--noscripts", rpmFile)
	checkInstalled(t, r, root, "rpm")
}

// TestPostinstallUseradd: where systemd-sysusers is missing, postinst makes the system user with
// useradd (into DPKG_ROOT), once: a second run (an upgrade) leaves passwd as it was.
func TestPostinstallUseradd(t *testing.T) {
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	for _, d := range []string{bin, filepath.Join(root, "etc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range []string{"sh", "grep", "useradd"} {
		if err := os.Symlink(needTool(t, tool), filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"passwd", "group", "shadow", "gshadow"} {
		if err := os.WriteFile(filepath.Join(root, "etc", f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	script := filepath.Join(repoRoot(t), "deploy", "packages", "postinstall.sh")
	var passwd []string
	for range 2 {
		cmd := exec.Command(filepath.Join(bin, "sh"), script, "configure")
		cmd.Env = []string{"PATH=" + bin, "DPKG_ROOT=" + root}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("postinstall.sh: %v\n%s", err, out)
		}
		b, err := os.ReadFile(filepath.Join(root, "etc", "passwd"))
		if err != nil {
			t.Fatal(err)
		}
		passwd = append(passwd, string(b))
	}
	if !strings.HasPrefix(passwd[0], "mattermost_exporter:x:") || !strings.HasSuffix(passwd[0], ":/var/lib/mattermost_exporter:/usr/sbin/nologin\n") || strings.Count(passwd[0], "\n") != 1 {
		t.Errorf("passwd after postinst with useradd:\n%s", passwd[0])
	}
	if passwd[1] != passwd[0] {
		t.Errorf("a second postinst changed passwd:\n%s", passwd[1])
	}
}
