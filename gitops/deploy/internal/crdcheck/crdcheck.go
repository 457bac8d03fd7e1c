// Package crdcheck validates Kubernetes objects against CustomResourceDefinitions
// the way kube-apiserver does on create, without running one: defaulting
// from the schema, object metadata rules, unknown fields (which a strict
// server-side apply rejects), the OpenAPI v3 schema, and the CRD's CEL
// rules (x-kubernetes-validations). It uses the API server's own code from
// k8s.io/apiextensions-apiserver.
//
// It exists for tests: only test code imports it, so the Kubernetes
// libraries never reach the meridian binary.
package crdcheck

import (
	"context"
	"fmt"
	"os"
	"sort"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// Validator holds the schemas of every served version of some CRDs.
type Validator struct {
	kinds map[schema.GroupVersionKind]*kind
}

type kind struct {
	crd        string
	namespaced bool
	structural *structuralschema.Structural
	schema     apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

// Load reads CRD files (YAML, one CRD each).
func Load(files ...string) (*Validator, error) {
	v := &Validator{kinds: map[schema.GroupVersionKind]*kind{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := v.Add(b); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return v, nil
}

// Add registers one CRD.
func (v *Validator) Add(crdYAML []byte) error {
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(crdYAML, &crd); err != nil {
		return fmt.Errorf("parse CRD: %w", err)
	}
	if crd.Kind != "CustomResourceDefinition" {
		return fmt.Errorf("not a CustomResourceDefinition: kind %q", crd.Kind)
	}
	for _, ver := range crd.Spec.Versions {
		if !ver.Served {
			continue
		}
		if ver.Schema == nil || ver.Schema.OpenAPIV3Schema == nil {
			return fmt.Errorf("%s %s: no openAPIV3Schema", crd.Name, ver.Name)
		}
		internal := &apiextensionsinternal.JSONSchemaProps{}
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(ver.Schema.OpenAPIV3Schema, internal, nil); err != nil {
			return fmt.Errorf("%s %s: convert schema: %w", crd.Name, ver.Name, err)
		}
		ss, err := structuralschema.NewStructural(internal)
		if err != nil {
			return fmt.Errorf("%s %s: structural schema: %w", crd.Name, ver.Name, err)
		}
		sv, _, err := apiservervalidation.NewSchemaValidator(internal)
		if err != nil {
			return fmt.Errorf("%s %s: schema validator: %w", crd.Name, ver.Name, err)
		}
		gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: ver.Name, Kind: crd.Spec.Names.Kind}
		v.kinds[gvk] = &kind{
			crd:        crd.Name,
			namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
			structural: ss,
			schema:     sv,
			cel:        cel.NewValidator(ss, true, celconfig.PerCallLimit),
		}
	}
	return nil
}

// Kinds lists the registered group/version/kinds, sorted.
func (v *Validator) Kinds() []string {
	var out []string
	for gvk := range v.kinds {
		out = append(out, gvk.GroupVersion().String()+" "+gvk.Kind)
	}
	sort.Strings(out)
	return out
}

// Validate checks one object given as YAML or JSON, and returns every
// problem, as the API server words them. An object of a kind no loaded CRD
// defines is a problem too.
func (v *Validator) Validate(ctx context.Context, doc []byte) []string {
	var obj map[string]any
	if err := yaml.Unmarshal(doc, &obj); err != nil {
		return []string{"parse: " + err.Error()}
	}
	apiVersion, _ := obj["apiVersion"].(string)
	kindName, _ := obj["kind"].(string)
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return []string{fmt.Sprintf("apiVersion %q: %v", apiVersion, err)}
	}
	if check, ok := builtinChecks[gv.WithKind(kindName)]; ok {
		return errorStrings(check(doc))
	}
	k, ok := v.kinds[gv.WithKind(kindName)]
	if !ok {
		return []string{fmt.Sprintf("no CRD serves %s %s", apiVersion, kindName)}
	}
	var errs field.ErrorList
	meta, _ := obj["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	switch {
	case k.namespaced && ns == "":
		errs = append(errs, field.Required(field.NewPath("metadata", "namespace"), k.crd+" is namespaced"))
	case !k.namespaced && ns != "":
		errs = append(errs, field.Forbidden(field.NewPath("metadata", "namespace"), k.crd+" is cluster-scoped"))
	}
	// The order of the API server's create path: default, coerce and
	// check metadata, drop (here: report) unknown fields, then validate
	// the schema and the CEL rules.
	structuraldefaulting.Default(obj, k.structural)
	if ferr, _ := objectmeta.CoerceWithOptions(nil, obj, k.structural, true, objectmeta.CoerceOptions{}); ferr != nil {
		errs = append(errs, ferr)
	}
	errs = append(errs, objectmeta.Validate(ctx, nil, obj, k.structural, true)...)
	errs = append(errs, validateName(meta)...)
	for _, p := range pruning.PruneWithOptions(obj, k.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		errs = append(errs, field.Invalid(field.NewPath(p), nil, "unknown field (strict field validation rejects it)"))
	}
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, obj, k.schema)...)
	celErrs, _ := k.cel.Validate(ctx, nil, k.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	errs = append(errs, celErrs...)
	return errorStrings(errs)
}

// errorStrings renders errs sorted, for stable test output.
func errorStrings(errs field.ErrorList) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Error())
	}
	sort.Strings(out)
	return out
}

// validateName applies the rule every custom resource's name must follow
// (a DNS-1123 subdomain), which objectmeta.Validate leaves to the
// registry.
func validateName(meta map[string]any) field.ErrorList {
	name, _ := meta["name"].(string)
	p := field.NewPath("metadata", "name")
	if name == "" {
		return field.ErrorList{field.Required(p, "name is required")}
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	return errs
}
