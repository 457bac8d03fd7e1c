package config

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"github.com/meridianhq/meridian"
)

// nameRE is a DNS-1123 label: names become Argo CD Application names,
// Kubernetes labels and Terraform workspace folders.
var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

var kmsKinds = []string{"aws-kms", "azure-key-vault", "gcp-kms", "vault"}

// at reports a problem with field of an entity declared at o.
func (l *loader) at(o meridian.Origin, field, format string, args ...any) {
	l.add(o.File, o.LineOf(field), field, format, args...)
}

func (l *loader) validateSettings() {
	s := &l.cfg.Settings
	o := s.Origin
	if o.File == "" {
		o.File = SettingsFile
	}
	for i, t := range s.RequiredTags {
		if t == "" {
			l.at(o, fmt.Sprintf("required_tags.%d", i), "must not be empty")
		}
	}
	for tag, re := range s.TagFormats {
		if _, err := regexp.Compile(re); err != nil {
			l.at(o, "tag_formats."+tag, "invalid regular expression: %v", err)
		}
	}
	if q := s.Forecast.Quantile; q <= 0.5 || q >= 1 {
		l.at(o, "forecast.quantile", "must be between 0.5 and 1 (exclusive), got %g", q)
	}
	if s.Forecast.Headroom < 0 {
		l.at(o, "forecast.headroom", "must not be negative, got %g", s.Forecast.Headroom)
	}
	if sla := s.Forecast.SLA; sla != 0 && (sla < 50 || sla >= 100) {
		l.at(o, "forecast.sla", "must be a percentage in [50, 100), got %g", sla)
	}
	if s.Currency != "USD" {
		l.at(o, "currency", "only USD is supported (the shipped price catalog is in USD), got %q", s.Currency)
	}
	p := s.Placement
	for field, v := range map[string]float64{
		"placement.migration_amortize_months": p.MigrationAmortizeMonths,
		"placement.min_saving_percent":        p.MinSavingPercent,
		"placement.min_saving_usd":            p.MinSavingUSD,
		"placement.gap_tolerance":             p.GapTolerance,
	} {
		if v < 0 {
			l.at(o, field, "must not be negative, got %g", v)
		}
	}
	if p.MigrationAmortizeMonths == 0 {
		l.at(o, "placement.migration_amortize_months", "must be positive")
	}
	if b := s.Limits.LoadHistoryBytes; b <= 0 || b > meridian.MaxLoadHistoryBytes {
		l.at(o, "limits.load_history_bytes", "must be positive and at most %s, got %d bytes", meridian.MaxLoadHistoryBytes, int64(b))
	}
	l.validateDeploy()
}

func (l *loader) validateTargets() {
	seen := map[string]meridian.Origin{}
	for i := range l.cfg.Targets {
		t := &l.cfg.Targets[i]
		o := t.Origin
		l.checkName(o, t.Name, "target", seen)
		switch {
		case t.Provider == "":
			l.at(o, "provider", "required, one of aws, azure, gcp, onprem, edge")
		case !t.Provider.Valid():
			l.at(o, "provider", "must be one of aws, azure, gcp, onprem, edge, got %q", t.Provider)
		}
		if t.Region == "" {
			l.at(o, "region", "required")
		}
		if t.Jurisdiction == "" {
			l.at(o, "jurisdiction", "required (e.g. eu, us, sg): residency rules need it")
		}
		if k := t.Encryption.KMS; k != "" && !slices.Contains(kmsKinds, k) {
			l.at(o, "encryption.kms", "must be one of aws-kms, azure-key-vault, gcp-kms, vault, got %q", k)
		}
		if (t.Encryption.CustomerManagedKeys || t.Encryption.HSM) && t.Encryption.KMS == "" {
			l.at(o, "encryption.kms", "required when customer_managed_keys or hsm is set: name the key service")
		}
		if _, ok := o.Lines["log_retention_max_days"]; !ok {
			l.at(o, "log_retention_max_days", "required: the longest log retention the target supports, in days")
		} else if t.LogRetentionMaxDays < 0 {
			l.at(o, "log_retention_max_days", "must not be negative, got %d", t.LogRetentionMaxDays)
		}
		if t.Capacity.VCPU < 0 || t.Capacity.MemoryGiB < 0 {
			l.at(o, "capacity", "must not be negative")
		}
		finite := t.Provider == meridian.ProviderOnPrem || t.Provider == meridian.ProviderEdge
		if finite {
			if t.Capacity.VCPU <= 0 {
				l.at(o, "capacity.vcpu", "required and positive for %s targets", t.Provider)
			}
			if t.Capacity.MemoryGiB <= 0 {
				l.at(o, "capacity.memory_gib", "required and positive for %s targets", t.Provider)
			}
		} else if t.Capacity.Limited() && (t.Capacity.VCPU <= 0 || t.Capacity.MemoryGiB <= 0) {
			l.at(o, "capacity", "a cloud quota needs both vcpu and memory_gib")
		}
		l.validatePricing(t, finite)
		if t.Engine != meridian.EngineTerraform && t.Engine != meridian.EngineCrossplane {
			l.at(o, "engine", "must be terraform or crossplane, got %q", t.Engine)
		}
		l.validateTerraform(t)
		l.validateTargetNetwork(t)
		l.validateAccount(t)
	}
}

func (l *loader) validatePricing(t *meridian.Target, finite bool) {
	o, p := t.Origin, t.Pricing
	explicit := false
	for _, f := range []string{"vcpu_hour", "gib_hour", "egress_gb", "storage_gb_month"} {
		if _, ok := o.Lines["pricing."+f]; ok {
			explicit = true
		}
	}
	switch {
	case p.Catalog && explicit:
		l.at(o, "pricing", "use either catalog: true or explicit rates, not both")
	case p.Catalog && finite:
		l.at(o, "pricing.catalog", "the catalog has no %s prices: give vcpu_hour, gib_hour, egress_gb and storage_gb_month (amortized)", t.Provider)
	case !p.Catalog && !explicit:
		if _, ok := o.Lines["pricing"]; !ok {
			l.at(o, "pricing", "required: catalog: true or explicit vcpu_hour, gib_hour, egress_gb, storage_gb_month")
		} else {
			l.at(o, "pricing", "give catalog: true or explicit rates")
		}
	case explicit:
		for f, v := range map[string]float64{"vcpu_hour": p.VCPUHour, "gib_hour": p.GiBHour, "egress_gb": p.EgressGB, "storage_gb_month": p.StorageGBMonth} {
			if _, ok := o.Lines["pricing."+f]; !ok {
				l.at(o, "pricing."+f, "required with explicit pricing")
			} else if v < 0 {
				l.at(o, "pricing."+f, "must not be negative, got %g", v)
			}
		}
	}
}

func (l *loader) validateWorkloads() {
	seen := map[string]meridian.Origin{}
	names := make(map[string]bool, len(l.cfg.Workloads))
	for _, w := range l.cfg.Workloads {
		names[w.Name] = true
	}
	for i := range l.cfg.Workloads {
		w := &l.cfg.Workloads[i]
		o := w.Origin
		l.checkName(o, w.Name, "workload", seen)
		l.validateWorkloadNetwork(w, names)
		if _, ok := o.Lines["replicas.min"]; !ok {
			l.at(o, "replicas.min", "required")
		}
		if _, ok := o.Lines["replicas.max"]; !ok {
			w.Replicas.Max = w.Replicas.Min
		}
		if w.Replicas.Min < 0 {
			l.at(o, "replicas.min", "must not be negative, got %d", w.Replicas.Min)
		}
		if w.Replicas.Max < w.Replicas.Min {
			l.at(o, "replicas.max", "must be at least replicas.min (%d), got %d", w.Replicas.Min, w.Replicas.Max)
		}
		if w.PerReplica.VCPU <= 0 {
			l.at(o, "per_replica.vcpu", "required and positive")
		}
		if w.PerReplica.MemoryGiB <= 0 {
			l.at(o, "per_replica.memory_gib", "required and positive")
		}
		if w.PerReplica.Capacity < 0 {
			l.at(o, "per_replica.capacity", "must not be negative")
		}
		if w.Requires.LogRetentionDays < 0 {
			l.at(o, "requires.log_retention_days", "must not be negative, got %d", w.Requires.LogRetentionDays)
		}
		if _, ok := o.Lines["requires.spread"]; ok && w.Requires.Spread < 1 {
			l.at(o, "requires.spread", "must be at least 1, got %d", w.Requires.Spread)
		}
		if n := w.SpreadCount(); n > 1 && w.Replicas.Max < n {
			l.at(o, "requires.spread", "spread %d needs replicas.max of at least %d, got %d", n, n, w.Replicas.Max)
		}
		switch w.Requires.SpreadBy {
		case meridian.SpreadByTarget, meridian.SpreadByProvider, meridian.SpreadByRegion:
		default:
			l.at(o, "requires.spread_by", "must be provider or region, got %q", w.Requires.SpreadBy)
		}
		if w.StorageGB < 0 {
			l.at(o, "storage_gb", "must not be negative")
		}
		if w.EgressGBMonth < 0 {
			l.at(o, "egress_gb_month", "must not be negative")
		}
		if w.Pin != "" {
			if w.SpreadCount() > 1 {
				l.at(o, "pin", "cannot pin a workload with spread %d to one target", w.SpreadCount())
			} else if _, ok := l.cfg.Target(w.Pin); !ok {
				l.at(o, "pin", "target %q is not defined in %s/", w.Pin, TargetsDir)
			}
		}
		if h := w.Load.History; h != "" {
			l.checkHistory(o, h)
			if w.PerReplica.Capacity <= 0 {
				l.at(o, "per_replica.capacity", "required and positive when load history is given: it converts load into replicas")
			}
		}
		if p := w.Load.Prometheus; p != nil {
			if p.Query == "" {
				l.at(o, "load.prometheus.query", "required")
			}
			if l.cfg.Settings.Prometheus.URL == "" {
				l.at(o, "load.prometheus", "needs prometheus.url in %s", SettingsFile)
			}
			if w.PerReplica.Capacity <= 0 {
				l.at(o, "per_replica.capacity", "required and positive when load history is given: it converts load into replicas")
			}
		}
	}
}

func (l *loader) checkName(o meridian.Origin, name, what string, seen map[string]meridian.Origin) {
	switch {
	case name == "":
		l.at(o, "name", "required")
		return
	case len(name) > 63 || !nameRE.MatchString(name):
		l.at(o, "name", "must be a DNS label (lower-case letters, digits and '-', at most 63), got %q", name)
	}
	if first, dup := seen[name]; dup {
		l.at(o, "name", "duplicate %s name %q, first defined at %s:%d", what, name, first.File, first.LineOf("name"))
		return
	}
	seen[name] = o
}

// checkHistory checks a load.history file the way the forecast will read
// it, without reading it: a regular file in the repo, no larger than
// limits.load_history_bytes. An oversized file is a config error (the plan
// fails) rather than a warning, because reading it is what must not happen.
func (l *loader) checkHistory(o meridian.Origin, h string) {
	p := strings.TrimPrefix(h, "./")
	if !fs.ValidPath(p) {
		l.at(o, "load.history", "must be a path inside the config repo, got %q", h)
		return
	}
	max := l.cfg.Settings.Limits.LoadHistoryBytes
	if max <= 0 || max > meridian.MaxLoadHistoryBytes {
		max = meridian.DefaultLoadHistoryBytes // reported by validateSettings
	}
	if _, err := fs.Lstat(l.fsys, p); errors.Is(err, fs.ErrNotExist) {
		l.at(o, "load.history", "file %q not found in the config repo", h)
		return
	}
	problem, tooBig, err := statCapped(l.fsys, p, max)
	switch {
	case err != nil:
		l.at(o, "load.history", "file %q cannot be read: %v", h, unwrapPath(err))
	case tooBig:
		l.at(o, "load.history", "load history %s: %s (limits.load_history_bytes in %s)", p, problem, SettingsFile)
	case problem != "":
		l.at(o, "load.history", "load history %s: %s", p, problem)
	}
}

// unwrapPath drops the *fs.PathError wrapper, whose text repeats the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
