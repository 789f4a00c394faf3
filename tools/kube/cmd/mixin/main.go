// Command mixin renders the monitoring mixin into the repository's shipped files (`make
// mixin`), or with -check fails when a committed file differs from the render.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/mmexporter/mattermost_exporter/tools/kube/mixin"
)

func main() {
	root := flag.String("root", ".", "the repository's root")
	check := flag.Bool("check", false, "do not write: fail when a committed file differs from the render")
	flag.Parse()
	if err := run(*root, *check); err != nil {
		fmt.Fprintln(os.Stderr, "mixin:", err)
		os.Exit(1)
	}
}

func run(root string, check bool) error {
	out, err := mixin.Evaluate(filepath.Join(root, "mixin"), nil)
	if err != nil {
		return err
	}
	files, err := out.Files()
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var stale []string
	for _, p := range paths {
		full := filepath.Join(root, p)
		if check {
			if old, err := os.ReadFile(full); err != nil || !bytes.Equal(old, files[p]) {
				stale = append(stale, p)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, files[p], 0o644); err != nil {
			return err
		}
		fmt.Println("mixin: wrote", p)
	}
	if len(stale) > 0 {
		return fmt.Errorf("these files differ from the mixin's render (run `make mixin` and commit): %v", stale)
	}
	return nil
}
