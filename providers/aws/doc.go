// Package aws is the AWS backend of package providers: it knows AWS region
// codes and the location names the AWS Price List API uses for them, and it
// parses pricing:GetProducts responses (ParseGetProducts), whose PriceList
// elements are JSON documents encoded as strings.
//
// The parser is used to cross-check the embedded catalog against recorded
// real GetProducts payloads (testdata/); a plan never calls the Price List
// API.
package aws
