package serveconfig

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// Apply sets every setting of fs not given on the command line from its
// environment variable (EnvVar), else from file (nil: no file), and marks
// it set, as the command line would. A bad variable's error names it; a
// value of file was checked by Parse, but fs may differ from the flags it
// was checked on, so its error names the file, line and key too.
func Apply(fs *pflag.FlagSet, file *File, getenv func(string) string) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || !Setting(f.Name) {
			return
		}
		env := EnvVar(f.Name)
		if s := getenv(env); s != "" {
			if err := setFlag(f, value{scalar: s}); err != nil {
				errs = append(errs, fmt.Errorf("$%s: %w", env, err))
			}
			return
		}
		if file == nil {
			return
		}
		if v, ok := file.values[f.Name]; ok {
			if err := setFlag(f, v); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: %s: %w", file.path, v.line, f.Name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// setFlag sets f to v and marks it set, as the command line would. A list
// flag given one string takes it as a comma-separated list.
func setFlag(f *pflag.Flag, v value) error {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		list := v.list
		if !v.isList {
			list = splitList(v.scalar)
		}
		if err := sv.Replace(list); err != nil {
			return err
		}
	} else if err := f.Value.Set(v.scalar); err != nil {
		return err
	}
	f.Changed = true
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
