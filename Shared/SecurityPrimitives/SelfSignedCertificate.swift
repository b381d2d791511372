import COpenSSL

/// A TLS server certificate signed by its own key (ECDSA P-256, SHA-256): what `contactpoint up`
/// gives the portal on first start, so that it serves HTTPS on `localhost` with nothing set up.
/// A real host name needs a certificate from a CA the browsers trust instead.
public struct SelfSignedCertificate: Sendable {
    /// The certificate, PEM.
    public let certificatePEM: String
    /// Its private key, PEM (PKCS #8, unencrypted): keep it mode 0600.
    public let privateKeyPEM: String

    /// A new key and certificate for `hostNames` (the first is also the subject's common name) and
    /// the loopback addresses, valid from an hour ago for `days` days.
    public static func generate(hostNames: [String], days: Int = 397) throws(OpenSSLError) -> SelfSignedCertificate {
        precondition(!hostNames.isEmpty, "a certificate names at least one host")
        let key = try generateP256Key()
        defer { EVP_PKEY_free(key) }
        guard let certificate = X509_new() else { throw .lastError(of: "X509_new") }
        defer { X509_free(certificate) }

        try openSSLCall("X509_set_version") { X509_set_version(certificate, 2) }
        let serial = SecureRandom.bytes(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } >> 1
        try openSSLCall("ASN1_INTEGER_set_uint64") {
            ASN1_INTEGER_set_uint64(X509_get_serialNumber(certificate), serial)
        }
        guard X509_gmtime_adj(X509_getm_notBefore(certificate), -3600) != nil,
            X509_gmtime_adj(X509_getm_notAfter(certificate), days * 86_400) != nil
        else { throw .lastError(of: "X509_gmtime_adj") }
        try openSSLCall("X509_set_pubkey") { X509_set_pubkey(certificate, key) }
        let name = X509_get_subject_name(certificate)
        try openSSLCall("X509_NAME_add_entry_by_txt") {
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, hostNames[0], -1, -1, 0)
        }
        try openSSLCall("X509_set_issuer_name") { X509_set_issuer_name(certificate, name) }

        let alternativeNames = (hostNames.map { "DNS:\($0)" } + ["IP:127.0.0.1", "IP:::1"]).joined(separator: ",")
        for (nid, value) in [
            (NID_basic_constraints, "critical,CA:FALSE"), (NID_key_usage, "critical,digitalSignature"),
            (NID_ext_key_usage, "serverAuth"), (NID_subject_alt_name, alternativeNames),
        ] {
            var context = X509V3_CTX()
            X509V3_set_ctx(&context, certificate, certificate, nil, nil, 0)
            guard let extensionValue = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw .lastError(of: "X509V3_EXT_conf_nid")
            }
            defer { X509_EXTENSION_free(extensionValue) }
            try openSSLCall("X509_add_ext") { X509_add_ext(certificate, extensionValue, -1) }
        }
        guard X509_sign(certificate, key, EVP_sha256()) > 0 else { throw .lastError(of: "X509_sign") }

        let certificatePEM = try pem("PEM_write_bio_X509") { PEM_write_bio_X509($0, certificate) }
        let privateKeyPEM = try pem("PEM_write_bio_PrivateKey") {
            PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil)
        }
        return SelfSignedCertificate(certificatePEM: certificatePEM, privateKeyPEM: privateKeyPEM)
    }

    private static func generateP256Key() throws(OpenSSLError) -> OpaquePointer {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
            throw .lastError(of: "EVP_PKEY_CTX_new_from_name")
        }
        defer { EVP_PKEY_CTX_free(context) }
        try openSSLCall("EVP_PKEY_keygen_init") { EVP_PKEY_keygen_init(context) }
        try openSSLCall("EVP_PKEY_CTX_set_group_name") { EVP_PKEY_CTX_set_group_name(context, "P-256") }
        var key: OpaquePointer?
        try openSSLCall("EVP_PKEY_generate") { EVP_PKEY_generate(context, &key) }
        guard let key else { throw .lastError(of: "EVP_PKEY_generate") }
        return key
    }

    /// What `write` puts into a memory BIO, as text.
    private static func pem(_ function: String, _ write: (OpaquePointer) -> Int32) throws(OpenSSLError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .lastError(of: "BIO_new") }
        defer { BIO_free(bio) }
        try openSSLCall(function) { write(bio) }
        var bytes = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(bio)))
        let read = BIO_read(bio, &bytes, Int32(bytes.count))
        guard read == bytes.count else { throw .lastError(of: "BIO_read") }
        return String(decoding: bytes, as: UTF8.self)
    }
}
