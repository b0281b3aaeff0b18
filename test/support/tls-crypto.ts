// Crypto core of the @pulumi/tls emulator: what terraform-provider-tls does with Go's crypto/x509, redone with
// node:crypto keys and @peculiar/x509 certificate/CSR assembly, keeping Go's encoding choices where they are
// visible in the DER (subject string types and RDN order, extension order and criticality, SAN layout,
// key identifiers, signature algorithm per key).
//
// References (hashicorp/terraform-provider-tls, internal/provider/):
//   common_cert.go     createCertificate, keyUsages / extendedKeyUsages, generateSubjectKeyID,
//                      createSubjectDistinguishedNames, modifyPlanIfCertificateReadyForRenewal
//   common_key.go      keyGenerators, keyParsers / parsePrivateKeyPEM, setPublicKeyAttributes
//   resource_private_key.go, resource_self_signed_cert.go, resource_cert_request.go,
//   resource_locally_signed_cert.go
// and Go's crypto/x509 (CreateCertificate, buildCertExtensions, marshalSANs, signingParamsForKey,
// CreateCertificateRequest, pkix.Name.ToRDNSequence / FillFromRDNSequence).

export { type KeyAlgorithm, type EcdsaCurve, ProviderError, KEY_USAGES, EXT_KEY_USAGES, SUPPORTED_USAGES, pemEncode, pemDecodeFirst } from "./emulators/tls-crypto/errors";
export { type ParsedKey, generateKey, parsePrivateKeyPem, spkiDer, subjectKeyId, type PublicKeyAttributes, publicKeyAttributes, type PrivateKeyAttributes, privateKeyAttributes } from "./emulators/tls-crypto/keys";
export { type SubjectInput, type GoName, subjectToGoName, goNameIsZero, marshalGoName, goNameFromDer } from "./emulators/tls-crypto/names";
export { parseIp, ipToString, type Sans, marshalSans, parseSans } from "./emulators/tls-crypto/sans";
export { type ParsedCertificate, parseCertificatePem, type ParsedCsr, parseCsrPem } from "./emulators/tls-crypto/parsing";
export { type CertTemplate, type CertParent, createCertificate, createCertificateRequest, randomSerial, goTimeText } from "./emulators/tls-crypto/signing";
