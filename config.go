package meridian

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// APIVersion is the only apiVersion a config file may declare.
const APIVersion = "meridian/v1"

// Kinds of config documents.
const (
	KindSettings = "Settings"
	KindTarget   = "Target"
	KindWorkload = "Workload"
)

// Origin records where an entity was declared, so that findings and config
// errors can point a user at file:line of the exact field.
type Origin struct {
	// File is the path relative to the config root, with forward slashes.
	File string `json:"file,omitempty"`
	// Line is the line of the document start (the first key).
	Line int `json:"line,omitempty"`
	// Lines maps a dotted field path (e.g. "requires.encryption",
	// "tags.owner") to the line it was declared on.
	Lines map[string]int `json:"-"`
}

// LineOf returns the line of the dotted field path, falling back to the
// nearest declared ancestor and then to the document start. A field that was
// never written (e.g. a missing required tag) thereby points at the block
// that should hold it.
func (o Origin) LineOf(field string) int {
	for f := field; f != ""; {
		if l, ok := o.Lines[f]; ok {
			return l
		}
		i := strings.LastIndexByte(f, '.')
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return o.Line
}

// Config is a whole config repo, parsed and defaulted.
type Config struct {
	Settings  Settings
	Targets   []Target
	Workloads []Workload
	// Policies maps a .rego file path (relative to the config root) to its
	// source. Files ending in _test.rego are tests.
	Policies map[string]string
	// Waivers are the waivers/*.yaml documents, in file order.
	Waivers []Waiver
	// PriceCatalog is the content of the file Settings.Pricing.Catalog
	// names, read from the config repo; nil means the embedded catalog. The
	// plan ID covers it through the catalog's provenance digest.
	PriceCatalog []byte `json:"-"`
}

// Target returns the target with the given name.
func (c *Config) Target(name string) (*Target, bool) {
	for i := range c.Targets {
		if c.Targets[i].Name == name {
			return &c.Targets[i], true
		}
	}
	return nil, false
}

// PolicyFiles returns the policy paths in sorted order, for deterministic
// compilation.
func (c *Config) PolicyFiles() []string {
	out := make([]string, 0, len(c.Policies))
	for p := range c.Policies {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Settings is meridian.yaml.
type Settings struct {
	RequiredTags []string           `json:"required_tags"`
	TagFormats   map[string]string  `json:"tag_formats,omitempty"`
	Forecast     ForecastSettings   `json:"forecast"`
	Placement    PlacementSettings  `json:"placement"`
	Currency     string             `json:"currency"`
	Prometheus   PrometheusSettings `json:"prometheus,omitempty"`
	// Deploy and ArgoCD say where rendered Argo CD and Crossplane manifests
	// go (see docs/gitops.md).
	Deploy DeploySettings `json:"deploy,omitzero"`
	ArgoCD ArgoCDSettings `json:"argocd,omitzero"`
	// AutoApply makes `meridian serve` apply every new commit of the
	// branch it watches once it is planned (apply-on-merge).
	AutoApply bool `json:"auto_apply,omitempty"`
	// DriftInterval is how often `meridian serve` checks for drift; zero
	// means the server's default (see docs/server.md).
	DriftInterval time.Duration `json:"drift_interval,omitempty"`
	// Limits caps what is read from the repo.
	Limits Limits `json:"limits"`
	// Pricing says where plans take cloud prices from (docs/pricing.md).
	Pricing PricingSettings `json:"pricing,omitzero"`
	Origin  Origin          `json:"-"`
}

// PricingSettings is the pricing section of meridian.yaml.
type PricingSettings struct {
	// Catalog is a price catalog file (as `meridian prices refresh` writes),
	// relative to the config repo's root and inside it; empty means the
	// catalog compiled into Meridian.
	Catalog string `json:"catalog,omitempty"`
}

// ForecastSettings controls forecast-driven sizing.
type ForecastSettings struct {
	Horizon  time.Duration `json:"horizon"`
	Quantile float64       `json:"quantile"`
	Headroom float64       `json:"headroom"`
	// SLA, in percent of demand served (99.95), makes sizing derive the
	// quantile and headroom from the forecast's calibrated error
	// distribution instead of Quantile and Headroom; zero means unset.
	SLA float64 `json:"sla,omitempty"`
}

// PlacementSettings tunes the scheduler.
type PlacementSettings struct {
	// MigrationAmortizeMonths spreads a move's one-off egress cost.
	MigrationAmortizeMonths float64 `json:"migration_amortize_months"`
	// MinSavingPercent (in percent, 5 = 5%) and MinSavingUSD form the
	// hysteresis threshold: a move
	// must save more than the larger of the two.
	MinSavingPercent float64 `json:"min_saving_percent"`
	MinSavingUSD     float64 `json:"min_saving_usd"`
	// GapTolerance is the relative optimality gap (0.005 = 0.5%) at which the
	// solver stops.
	GapTolerance float64 `json:"gap_tolerance"`
	// TimeLimit is a safety net: the search is bounded by a work budget,
	// which keeps plans the same on every machine, and stops at this wall
	// time only on a machine too slow or busy to spend the budget in time.
	TimeLimit time.Duration `json:"time_limit"`
}

// PrometheusSettings points at a Prometheus HTTP API for load history.
type PrometheusSettings struct {
	URL string `json:"url,omitempty"`
}

// Limits caps the size of files read from a config repo, so that a repo
// (or a pull request to it) cannot exhaust the memory of the planner. A
// file over its cap is a config error; it is never read.
type Limits struct {
	// LoadHistoryBytes caps one load-history CSV (load.history).
	LoadHistoryBytes ByteSize `json:"load_history_bytes"`
}

// Size caps. Only the load-history cap is settable (limits in
// meridian.yaml); the YAML and Rego caps are fixed, since meridian.yaml
// itself is read under them.
const (
	// DefaultLoadHistoryBytes is Limits.LoadHistoryBytes unless set: a year
	// of one-minute samples is about 16 MiB.
	DefaultLoadHistoryBytes ByteSize = 32 << 20
	// MaxLoadHistoryBytes is the most Limits.LoadHistoryBytes may be set
	// to: a bound on what a pull request can raise the cap to.
	MaxLoadHistoryBytes ByteSize = 256 << 20
	// MaxYAMLBytes caps one YAML file: a single file holding 10,000
	// workloads is about 5 MiB.
	MaxYAMLBytes ByteSize = 16 << 20
	// MaxRegoBytes caps one policy file.
	MaxRegoBytes ByteSize = 4 << 20
)

// ByteSize is a number of bytes. In config files it is written as an
// integer or with a unit: 512KB, 64MB, 1GB (powers of 1024; KiB, MiB and
// GiB mean the same).
type ByteSize int64

// String renders b in the largest unit that divides it, as config files
// write it ("32MiB").
func (b ByteSize) String() string {
	for _, u := range []struct {
		n    ByteSize
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if b >= u.n && b%u.n == 0 {
			return strconv.FormatInt(int64(b/u.n), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10) + " bytes"
}

// DefaultSettings returns the settings a repo gets for everything it omits.
func DefaultSettings() Settings {
	return Settings{
		RequiredTags: []string{"owner", "cost-center", "env"},
		Forecast:     ForecastSettings{Horizon: 4 * time.Hour, Quantile: 0.95, Headroom: 0.2},
		Placement: PlacementSettings{
			MigrationAmortizeMonths: 6,
			MinSavingPercent:        5,
			MinSavingUSD:            10,
			GapTolerance:            0.005,
			TimeLimit:               30 * time.Second,
		},
		Currency: "USD",
		Limits:   Limits{LoadHistoryBytes: DefaultLoadHistoryBytes},
	}
}
