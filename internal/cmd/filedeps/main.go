// Command filedeps lists which files of one Go package use names that
// other files of it declare, and the pairs of files that do so both ways:
// a measure of how tangled a package's files are (a file that reaches back
// into one that depends on it cannot be read on its own).
//
//	go run ./internal/cmd/filedeps [-max-mutual N] [-v] DIR
//
// It type-checks DIR's non-test files for this platform with go/types and
// counts uses of package-level names, methods and fields across files.
// With -max-mutual it exits 1 when there are more than N mutual pairs, so
// that CI keeps the count from creeping back up.
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/build"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	maxMutual := flag.Int("max-mutual", -1, "fail when more file pairs than this depend on each other (-1: report only)")
	verbose := flag.Bool("v", false, "list every dependency, with the names used")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: filedeps [-max-mutual N] [-v] DIR")
		os.Exit(2)
	}
	deps, err := fileDeps(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "filedeps:", err)
		os.Exit(2)
	}
	var mutual [][2]string
	for _, k := range sortedKeys(deps) {
		if *verbose {
			fmt.Printf("%s -> %s: %s\n", k[0], k[1], strings.Join(deps[k], ", "))
		}
		if _, back := deps[[2]string{k[1], k[0]}]; back && k[0] < k[1] {
			mutual = append(mutual, k)
		}
	}
	fmt.Printf("%d dependencies between files, %d pairs both ways:\n", len(deps), len(mutual))
	for _, k := range mutual {
		fmt.Printf("  %s <-> %s\n", k[0], k[1])
	}
	if *maxMutual >= 0 && len(mutual) > *maxMutual {
		fmt.Printf("more than %d pairs both ways: untangle the files named above\n", *maxMutual)
		os.Exit(1)
	}
}

// fileDeps maps (user file, declaring file) to the names used.
func fileDeps(dir string) (map[[2]string][]string, error) {
	bp, err := build.ImportDir(dir, 0)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	pkg, err := conf.Check(bp.ImportPath, fset, files, info)
	if err != nil {
		return nil, err
	}
	names := map[[2]string]map[string]bool{}
	for id, obj := range info.Uses {
		if obj.Pkg() != pkg || !declaredAtPackageLevel(pkg, obj) {
			continue
		}
		from := filepath.Base(fset.Position(id.Pos()).Filename)
		to := filepath.Base(fset.Position(obj.Pos()).Filename)
		if from == to {
			continue
		}
		k := [2]string{from, to}
		if names[k] == nil {
			names[k] = map[string]bool{}
		}
		names[k][obj.Name()] = true
	}
	deps := make(map[[2]string][]string, len(names))
	for k, set := range names {
		for n := range set {
			deps[k] = append(deps[k], n)
		}
		sort.Strings(deps[k])
	}
	return deps, nil
}

// declaredAtPackageLevel: a package-level name, a method or a field (not a
// local variable, parameter or label).
func declaredAtPackageLevel(pkg *types.Package, obj types.Object) bool {
	switch o := obj.(type) {
	case *types.Var:
		return o.IsField() || o.Parent() == pkg.Scope()
	case *types.Func:
		return true
	case *types.TypeName, *types.Const:
		return o.Parent() == pkg.Scope()
	}
	return false
}

func sortedKeys(m map[[2]string][]string) [][2]string {
	keys := make([][2]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	return keys
}
