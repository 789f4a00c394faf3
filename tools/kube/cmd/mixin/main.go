// Command mixin renders the monitoring mixin into the repository's shipped files (`make
// mixin`). TestRenderMatchesCommitted (tools/kube/mixin) fails when a committed file differs.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/mmexporter/mattermost_exporter/tools/kube/mixin"
)

func main() {
	root := flag.String("root", ".", "the repository's root")
	flag.Parse()
	if err := run(*root); err != nil {
		fmt.Fprintln(os.Stderr, "mixin:", err)
		os.Exit(1)
	}
}

func run(root string) error {
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
	for _, p := range paths {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, files[p], 0o644); err != nil {
			return err
		}
		fmt.Println("mixin: wrote", p)
	}
	return nil
}
