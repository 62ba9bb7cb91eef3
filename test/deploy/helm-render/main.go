// Renders the Sonde Helm chart's templates the way `helm template` does, for the tests in
// test/deploy/ on machines without Helm: the same engine (Go's text/template, missing keys are
// errors as with `helm lint --strict`) with the few Sprig/Helm functions the chart uses. toYaml
// emits JSON, which is YAML, so the output parses the same though it is formatted differently.
//
// Input (stdin, JSON): {"chartDir", "values", "chart": {"Name","Version","AppVersion"},
// "release": {"Name","Namespace"}}. Output: the rendered manifests, one "# Source:" document each.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"text/template"
)

type input struct {
	ChartDir string                 `json:"chartDir"`
	Values   map[string]interface{} `json:"values"`
	Chart    map[string]interface{} `json:"chart"`
	Release  map[string]interface{} `json:"release"`
}

func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

// empty is Sprig's notion of an unset value (what `default` replaces).
func empty(v interface{}) bool {
	if v == nil {
		return true
	}
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return r.Len() == 0
	case reflect.Bool:
		return !r.Bool()
	case reflect.Float32, reflect.Float64:
		return r.Float() == 0
	case reflect.Int, reflect.Int64, reflect.Int32:
		return r.Int() == 0
	}
	return false
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail("reading the render request from stdin: %v", err)
	}
	const base = "sonde/templates"
	var tpl *template.Template
	funcs := template.FuncMap{
		"include": func(name string, data interface{}) (string, error) {
			var b bytes.Buffer
			err := tpl.ExecuteTemplate(&b, name, data)
			return b.String(), err
		},
		"trunc": func(n int, s string) string {
			if len(s) > n {
				return s[:n]
			}
			return s
		},
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"quote": func(v interface{}) string {
			if v == nil {
				return `""`
			}
			return fmt.Sprintf("%q", fmt.Sprint(v))
		},
		"indent":  indent,
		"nindent": func(n int, s string) string { return "\n" + indent(n, s) },
		"toYaml": func(v interface{}) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"sha256sum": func(s string) string {
			sum := sha256.Sum256([]byte(s))
			return hex.EncodeToString(sum[:])
		},
		"default": func(d interface{}, given ...interface{}) interface{} {
			if len(given) == 0 || empty(given[0]) {
				return d
			}
			return given[0]
		},
	}
	tpl = template.New("chart").Funcs(funcs).Option("missingkey=error")
	files, err := filepath.Glob(filepath.Join(in.ChartDir, "templates", "*"))
	if err != nil {
		fail("listing templates: %v", err)
	}
	sort.Strings(files)
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			fail("reading %s: %v", f, err)
		}
		if _, err := tpl.New(base + "/" + filepath.Base(f)).Parse(string(text)); err != nil {
			fail("parsing %s: %v", f, err)
		}
	}
	data := map[string]interface{}{
		"Values":   in.Values,
		"Chart":    in.Chart,
		"Release":  map[string]interface{}{"Name": in.Release["Name"], "Namespace": in.Release["Namespace"], "Service": "Helm"},
		"Template": map[string]interface{}{"BasePath": base},
	}
	for _, f := range files {
		name := filepath.Base(f)
		// Helm renders neither partials (_*.tpl) nor NOTES.txt into manifests.
		if strings.HasPrefix(name, "_") || name == "NOTES.txt" {
			continue
		}
		var out bytes.Buffer
		if err := tpl.ExecuteTemplate(&out, base+"/"+name, data); err != nil {
			fail("rendering %s: %v", name, err)
		}
		fmt.Printf("---\n# Source: %s/%s\n%s\n", base, name, out.String())
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "helm-render: "+format+"\n", args...)
	os.Exit(1)
}
