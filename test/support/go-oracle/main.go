// Go oracle for the tls emulator's faithfulness spec (test/emulator.spec.ts).
//
// It repeats, with Go's crypto/x509, what terraform-provider-tls (internal/provider: common_cert.go
// createCertificate / createSubjectDistinguishedNames, resource_self_signed_cert.go,
// resource_locally_signed_cert.go, resource_cert_request.go Create) does, with the random parts (serial number,
// NotBefore = time.Now()) taken from the request so the result can be compared with the emulator's output byte
// for byte. Reads one JSON request on stdin, writes {"der": base64} or {"error": "..."} on stdout.
// Standard library only: `go build` needs no network.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"reflect"
	"time"
)

type subject struct {
	CommonName         *string  `json:"commonName"`
	Organization       *string  `json:"organization"`
	OrganizationalUnit *string  `json:"organizationalUnit"`
	StreetAddresses    []string `json:"streetAddresses"`
	Locality           *string  `json:"locality"`
	Province           *string  `json:"province"`
	Country            *string  `json:"country"`
	PostalCode         *string  `json:"postalCode"`
	SerialNumber       *string  `json:"serialNumber"`
	EmailAddress       *string  `json:"emailAddress"`
}

type request struct {
	Op                  string   `json:"op"` // self | local | csr
	PrivateKeyPem       string   `json:"privateKeyPem"`
	CertRequestPem      string   `json:"certRequestPem"`
	CAPrivateKeyPem     string   `json:"caPrivateKeyPem"`
	CACertPem           string   `json:"caCertPem"`
	Subject             *subject `json:"subject"`
	DNSNames            []string `json:"dnsNames"`
	IPAddresses         []string `json:"ipAddresses"`
	URIs                []string `json:"uris"`
	AllowedUses         []string `json:"allowedUses"`
	ValidityPeriodHours int64    `json:"validityPeriodHours"`
	IsCACertificate     bool     `json:"isCaCertificate"`
	MaxPathLength       *int64   `json:"maxPathLength"`
	SetSubjectKeyID     bool     `json:"setSubjectKeyId"`
	SetAuthorityKeyID   bool     `json:"setAuthorityKeyId"`
	Serial              string   `json:"serial"`
	NotBeforeUnixMs     int64    `json:"notBeforeUnixMs"`
}

var keyUsages = map[string]x509.KeyUsage{
	"digital_signature":  x509.KeyUsageDigitalSignature,
	"content_commitment": x509.KeyUsageContentCommitment,
	"key_encipherment":   x509.KeyUsageKeyEncipherment,
	"data_encipherment":  x509.KeyUsageDataEncipherment,
	"key_agreement":      x509.KeyUsageKeyAgreement,
	"cert_signing":       x509.KeyUsageCertSign,
	"crl_signing":        x509.KeyUsageCRLSign,
	"encipher_only":      x509.KeyUsageEncipherOnly,
	"decipher_only":      x509.KeyUsageDecipherOnly,
}

var extendedKeyUsages = map[string]x509.ExtKeyUsage{
	"any_extended":                      x509.ExtKeyUsageAny,
	"server_auth":                       x509.ExtKeyUsageServerAuth,
	"client_auth":                       x509.ExtKeyUsageClientAuth,
	"code_signing":                      x509.ExtKeyUsageCodeSigning,
	"email_protection":                  x509.ExtKeyUsageEmailProtection,
	"ipsec_end_system":                  x509.ExtKeyUsageIPSECEndSystem,
	"ipsec_tunnel":                      x509.ExtKeyUsageIPSECTunnel,
	"ipsec_user":                        x509.ExtKeyUsageIPSECUser,
	"timestamping":                      x509.ExtKeyUsageTimeStamping,
	"ocsp_signing":                      x509.ExtKeyUsageOCSPSigning,
	"microsoft_server_gated_crypto":     x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	"netscape_server_gated_crypto":      x509.ExtKeyUsageNetscapeServerGatedCrypto,
	"microsoft_commercial_code_signing": x509.ExtKeyUsageMicrosoftCommercialCodeSigning,
	"microsoft_kernel_code_signing":     x509.ExtKeyUsageMicrosoftKernelCodeSigning,
}

func parsePrivateKeyPEM(s string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, fmt.Errorf("no PEM block")
	}
	var k any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unsupported PEM preamble: %s", block.Type)
	}
	if err != nil {
		return nil, err
	}
	return k.(crypto.Signer), nil
}

func generateSubjectKeyID(pubKey crypto.PublicKey) ([]byte, error) {
	var b []byte
	var err error
	switch pub := pubKey.(type) {
	case *rsa.PublicKey:
		b, err = asn1.Marshal(*pub)
	case *ecdsa.PublicKey:
		//nolint:staticcheck
		b = elliptic.Marshal(pub.Curve, pub.X, pub.Y)
	case ed25519.PublicKey:
		b, err = asn1.Marshal(pub)
	default:
		err = fmt.Errorf("unsupported public key type %T", pub)
	}
	if err != nil {
		return nil, err
	}
	h := sha1.Sum(b)
	return h[:], nil
}

func subjectName(s *subject) pkix.Name {
	r := pkix.Name{}
	if s == nil {
		return r
	}
	if s.CommonName != nil {
		r.CommonName = *s.CommonName
	}
	if s.Organization != nil {
		r.Organization = []string{*s.Organization}
	}
	if s.OrganizationalUnit != nil {
		r.OrganizationalUnit = []string{*s.OrganizationalUnit}
	}
	if s.StreetAddresses != nil {
		r.StreetAddress = s.StreetAddresses
	}
	if s.Locality != nil {
		r.Locality = []string{*s.Locality}
	}
	if s.Province != nil {
		r.Province = []string{*s.Province}
	}
	if s.Country != nil {
		r.Country = []string{*s.Country}
	}
	if s.PostalCode != nil {
		r.PostalCode = []string{*s.PostalCode}
	}
	if s.SerialNumber != nil {
		r.SerialNumber = *s.SerialNumber
	}
	if s.EmailAddress != nil {
		r.ExtraNames = append(r.ExtraNames, pkix.AttributeTypeAndValue{
			Type:  asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1},
			Value: asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte(*s.EmailAddress)},
		})
	}
	return r
}

func sans(req *request) ([]net.IP, []*url.URL, error) {
	var ips []net.IP
	for _, s := range req.IPAddresses {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, nil, fmt.Errorf("Invalid IP address: Failed to parse %#v", s)
		}
		ips = append(ips, ip)
	}
	var uris []*url.URL
	for _, s := range req.URIs {
		u, err := url.Parse(s)
		if err != nil {
			return nil, nil, fmt.Errorf("Invalid URI: Failed to parse %#v: %v", s, err.Error())
		}
		uris = append(uris, u)
	}
	return ips, uris, nil
}

// createCertificate mirrors common_cert.go createCertificate.
func createCertificate(req *request, template, parent *x509.Certificate, pubKey crypto.PublicKey, prvKey crypto.Signer, hasSetAKID bool) ([]byte, error) {
	var err error
	template.NotBefore = time.UnixMilli(req.NotBeforeUnixMs)
	template.NotAfter = template.NotBefore.Add(time.Duration(req.ValidityPeriodHours) * time.Hour)
	serial, ok := new(big.Int).SetString(req.Serial, 10)
	if !ok {
		return nil, fmt.Errorf("bad serial")
	}
	template.SerialNumber = serial
	for _, use := range req.AllowedUses {
		if u, ok := keyUsages[use]; ok {
			template.KeyUsage |= u
		}
		if u, ok := extendedKeyUsages[use]; ok {
			template.ExtKeyUsage = append(template.ExtKeyUsage, u)
		}
	}
	if req.IsCACertificate {
		if reflect.DeepEqual(template.Subject, pkix.Name{}) {
			return nil, fmt.Errorf("Invalid Certificate Subject: Must contain at least one Distinguished Name when creating Certificate Authority (CA)")
		}
		template.IsCA = true
		if template.SubjectKeyId, err = generateSubjectKeyID(pubKey); err != nil {
			return nil, err
		}
	}
	if req.MaxPathLength != nil && *req.MaxPathLength >= 0 {
		template.MaxPathLen = int(*req.MaxPathLength)
	}
	if req.SetSubjectKeyID {
		if template.SubjectKeyId, err = generateSubjectKeyID(pubKey); err != nil {
			return nil, err
		}
	}
	if hasSetAKID && req.SetAuthorityKeyID {
		if len(parent.SubjectKeyId) == 0 {
			return nil, fmt.Errorf("Invalid Certificate Authority: Could not determine Authority Key Identifier")
		}
		template.AuthorityKeyId = parent.SubjectKeyId
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, pubKey, prvKey)
	if err != nil {
		return nil, fmt.Errorf("Failed to create certificate: %w", err)
	}
	return der, nil
}

func run(req *request) ([]byte, error) {
	switch req.Op {
	case "self":
		key, err := parsePrivateKeyPEM(req.PrivateKeyPem)
		if err != nil {
			return nil, err
		}
		cert := x509.Certificate{BasicConstraintsValid: true}
		if req.Subject != nil {
			cert.Subject = subjectName(req.Subject)
		}
		cert.DNSNames = req.DNSNames
		if cert.IPAddresses, cert.URIs, err = sans(req); err != nil {
			return nil, err
		}
		return createCertificate(req, &cert, &cert, key.Public(), key, true)
	case "local":
		block, _ := pem.Decode([]byte(req.CertRequestPem))
		csr, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil {
			return nil, err
		}
		caKey, err := parsePrivateKeyPEM(req.CAPrivateKeyPem)
		if err != nil {
			return nil, err
		}
		cb, _ := pem.Decode([]byte(req.CACertPem))
		caCert, err := x509.ParseCertificate(cb.Bytes)
		if err != nil {
			return nil, err
		}
		tmpl := x509.Certificate{
			Subject:               csr.Subject,
			DNSNames:              csr.DNSNames,
			IPAddresses:           csr.IPAddresses,
			URIs:                  csr.URIs,
			BasicConstraintsValid: true,
		}
		return createCertificate(req, &tmpl, caCert, csr.PublicKey, caKey, false)
	case "csr":
		key, err := parsePrivateKeyPEM(req.PrivateKeyPem)
		if err != nil {
			return nil, err
		}
		cr := x509.CertificateRequest{}
		if req.Subject != nil {
			cr.Subject = subjectName(req.Subject)
		}
		cr.DNSNames = req.DNSNames
		if cr.IPAddresses, cr.URIs, err = sans(req); err != nil {
			return nil, err
		}
		return x509.CreateCertificateRequest(rand.Reader, &cr, key)
	}
	return nil, fmt.Errorf("unknown op %q", req.Op)
}

func main() {
	var req request
	out := map[string]string{}
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		out["error"] = err.Error()
	} else if der, err := run(&req); err != nil {
		out["error"] = err.Error()
	} else {
		out["der"] = base64.StdEncoding.EncodeToString(der)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
