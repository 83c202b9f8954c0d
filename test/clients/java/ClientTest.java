import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.PreconditionFailure;
import dev.certmint.v1.AccessToken;
import dev.certmint.v1.AccessTokenServiceGrpc;
import dev.certmint.v1.CertificateAttributes;
import dev.certmint.v1.CertificateAuthority;
import dev.certmint.v1.CertificateAuthorityServiceGrpc;
import dev.certmint.v1.CertificateEventType;
import dev.certmint.v1.CertificatePolicy;
import dev.certmint.v1.CertificatePolicyPreset;
import dev.certmint.v1.CertificatePolicyServiceGrpc;
import dev.certmint.v1.CertificateProfile;
import dev.certmint.v1.CertificateProfileServiceGrpc;
import dev.certmint.v1.CertificateServiceGrpc;
import dev.certmint.v1.CreateAccessTokenRequest;
import dev.certmint.v1.CreateAccessTokenResponse;
import dev.certmint.v1.CreateCertificatePolicyRequest;
import dev.certmint.v1.CreateCertificateProfileRequest;
import dev.certmint.v1.CreateIntermediateCertificateAuthorityRequest;
import dev.certmint.v1.CreateRootCertificateAuthorityRequest;
import dev.certmint.v1.GetCertificateRequest;
import dev.certmint.v1.GetCertificateRevocationListRequest;
import dev.certmint.v1.IssueCertificateRequest;
import dev.certmint.v1.IssueCertificateResponse;
import dev.certmint.v1.KeyAlgorithm;
import dev.certmint.v1.NameRule;
import dev.certmint.v1.ProfileDefaults;
import dev.certmint.v1.Role;
import dev.certmint.v1.RenewCertificateRequest;
import dev.certmint.v1.RenewCertificateResponse;
import dev.certmint.v1.RevocationReason;
import dev.certmint.v1.RevokeAccessTokenRequest;
import dev.certmint.v1.RevokeCertificateRequest;
import dev.certmint.v1.SanRules;
import dev.certmint.v1.Subject;
import dev.certmint.v1.SubjectAlternativeNames;
import dev.certmint.v1.SubjectRules;
import dev.certmint.v1.ValueRule;
import dev.certmint.v1.WatchCertificatesRequest;
import dev.certmint.v1.WatchCertificatesResponse;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.MetadataUtils;
import java.io.ByteArrayInputStream;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CRLReason;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * The client scenario with the generated Java client (gen/java), the JDK's X.509 classes and
 * BouncyCastle for the CSR: CAs, policy and profile; issue from a CSR made here and with a
 * server-made key; renew; revoke; find the serial in the CRL; verify the chain with PKIX; then an
 * issuer access token limited to the profile: it issues, is refused an admin call, and once
 * revoked is refused altogether. Prints one JSON object that test/clients.test.ts asserts on.
 *
 * <p>Usage: CERTMINT_TOKEN=&lt;admin token&gt; java ClientTest &lt;host:port&gt; scenario
 * &lt;prefix&gt; (the token, sent as {@code authorization: Bearer <token>} on every call, comes
 * from the environment, never the command line, where ps shows it), or ClientTest
 * &lt;host:port&gt; watch &lt;certificate id&gt; &lt;CA PEM file&gt; [&lt;after cursor&gt;]: wait
 * on WatchCertificates for the server to renew the certificate and PKIX-validate the successor.
 */
public final class ClientTest {
  private static final long DAY = 86_400;
  private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  public static void main(String[] args) throws Exception {
    boolean scenarioArgs = args.length == 3 && args[1].equals("scenario");
    boolean watchArgs = (args.length == 4 || args.length == 5) && args[1].equals("watch");
    if (!scenarioArgs && !watchArgs) {
      System.err.println("usage: ClientTest <host:port> scenario <prefix>"
          + " | ClientTest <host:port> watch <certificate id> <CA PEM file> [<after cursor>]");
      System.exit(2);
    }
    String token = System.getenv("CERTMINT_TOKEN");
    if (token == null || token.isEmpty()) {
      System.err.println("ClientTest: set CERTMINT_TOKEN to an admin access token");
      System.exit(2);
    }
    String target = args[0];
    ManagedChannel channel = connect(target, token);
    try {
      Map<String, Object> out = watchArgs
          ? watch(channel, args[2], args[3], args.length == 5 ? args[4] : "")
          : scenario(channel, other -> connect(target, other), args[2]);
      System.out.println(toJson(out));
    } catch (StatusRuntimeException e) {
      // Say which call failed and why, with the google.rpc details, then exit 1.
      System.err.println("ClientTest: " + e.getStatus());
      com.google.rpc.Status st = StatusProto.fromThrowable(e);
      for (Any detail : st == null ? List.<Any>of() : st.getDetailsList()) {
        Object shown = detail;
        if (detail.is(ErrorInfo.class)) {
          shown = detail.unpack(ErrorInfo.class);
        } else if (detail.is(BadRequest.class)) {
          shown = detail.unpack(BadRequest.class);
        } else if (detail.is(PreconditionFailure.class)) {
          shown = detail.unpack(PreconditionFailure.class);
        }
        System.err.println("  detail: " + shown);
      }
      e.printStackTrace();
      System.exit(1);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** A client interceptor that sends {@code authorization: Bearer <token>} on every call. */
  static ClientInterceptor bearer(String token) {
    Metadata headers = new Metadata();
    headers.put(AUTHORIZATION, "Bearer " + token);
    return MetadataUtils.newAttachHeadersInterceptor(headers);
  }

  /** A plaintext channel to certmint whose calls carry the access token. */
  static ManagedChannel connect(String target, String token) {
    return ManagedChannelBuilder.forTarget(target).usePlaintext().intercept(bearer(token)).build();
  }

  /** A failed call's status code name and ErrorInfo reason ("OK" and "" when it succeeded). */
  record CallOutcome(String code, String reason) {}

  static CallOutcome callError(Supplier<?> call) throws Exception {
    try {
      call.get();
      return new CallOutcome("OK", "");
    } catch (StatusRuntimeException e) {
      String reason = "";
      com.google.rpc.Status st = StatusProto.fromThrowable(e);
      for (Any detail : st == null ? List.<Any>of() : st.getDetailsList()) {
        if (detail.is(ErrorInfo.class)) {
          reason = detail.unpack(ErrorInfo.class).getReason();
        }
      }
      return new CallOutcome(e.getStatus().getCode().name(), reason);
    }
  }

  /** channel sends the admin token; connect opens a channel that sends another one. */
  static Map<String, Object> scenario(ManagedChannel channel, Function<String, ManagedChannel> connect,
      String prefix) throws Exception {
    // Blocking stubs' deadlines are absolute: one minute for the whole scenario.
    var cas = CertificateAuthorityServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(60, TimeUnit.SECONDS);
    var policies = CertificatePolicyServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(60, TimeUnit.SECONDS);
    var profiles = CertificateProfileServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(60, TimeUnit.SECONDS);
    var certs = CertificateServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(60, TimeUnit.SECONDS);
    var tokens = AccessTokenServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(60, TimeUnit.SECONDS);
    CertificateFactory x509 = CertificateFactory.getInstance("X.509");
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("language", "java");

    // 1. Root (RSA-2048) and intermediate (P-256) CA, a TLS-server policy, a profile on the
    //    intermediate.
    CertificateAuthority root = cas.createRootCertificateAuthority(
        CreateRootCertificateAuthorityRequest.newBuilder()
            .setSlug(prefix + "-root")
            .setSubject(Subject.newBuilder()
                .setCommonName(prefix + " client test root")
                .addOrganization("certmint"))
            .setKeyAlgorithm(KeyAlgorithm.KEY_ALGORITHM_RSA_2048)
            .build())
        .getCertificateAuthority();
    out.put("root_ca_status", root.getStatus().name());

    CertificateAuthority inter = cas.createIntermediateCertificateAuthority(
        CreateIntermediateCertificateAuthorityRequest.newBuilder()
            .setSlug(prefix + "-intermediate")
            .setParentCertificateAuthority(root.getSlug())
            .setSubject(Subject.newBuilder()
                .setCommonName(prefix + " client test intermediate")
                .addOrganization("certmint"))
            .setKeyAlgorithm(KeyAlgorithm.KEY_ALGORITHM_EC_P256)
            .build())
        .getCertificateAuthority();
    out.put("intermediate_ca_status", inter.getStatus().name());
    out.put("intermediate_parent_is_root", inter.getParentCertificateAuthorityId().equals(root.getId()));

    CertificatePolicy policy = policies.createCertificatePolicy(
        CreateCertificatePolicyRequest.newBuilder()
            .setPreset(CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER)
            .setCertificatePolicy(CertificatePolicy.newBuilder()
                .setSlug(prefix + "-tls-server")
                .setSubjectRules(SubjectRules.newBuilder()
                    .setCommonName(ValueRule.newBuilder().addAllowed("*")))
                .setSanRules(SanRules.newBuilder().setDns(NameRule.newBuilder().addAllowed("**.example.com")))
                .setMaxTtl(Duration.newBuilder().setSeconds(30 * DAY)))
            .build())
        .getCertificatePolicy();
    out.put("policy_max_ttl_seconds", policy.getMaxTtl().getSeconds());

    CertificateProfile profile = profiles.createCertificateProfile(
        CreateCertificateProfileRequest.newBuilder()
            .setCertificateProfile(CertificateProfile.newBuilder()
                .setSlug(prefix + "-web")
                .setCertificatePolicy(policy.getId())
                .setCertificateAuthority(inter.getSlug())
                .setDefaults(ProfileDefaults.newBuilder()
                    .setTtl(Duration.newBuilder().setSeconds(7 * DAY))
                    .setKeyAlgorithm(KeyAlgorithm.KEY_ALGORITHM_EC_P256)))
            .build())
        .getCertificateProfile();
    out.put("profile_issuer_is_intermediate", profile.getCertificateAuthority().equals(inter.getId()));

    X509Certificate rootCert = cert(x509, root.getCertificatePem());
    X509Certificate interCert = cert(x509, inter.getCertificatePem());

    // 2. Issue from a CSR: RSA-2048 key from the JDK, PKCS #10 request built by BouncyCastle.
    String name = prefix + "-api.example.com";
    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
    rsa.initialize(2048);
    KeyPair key = rsa.generateKeyPair();
    IssueCertificateResponse issued = certs.issueCertificate(
        IssueCertificateRequest.newBuilder()
            .setCertificateProfile(profile.getSlug())
            .setRequestId(prefix + "-csr-1")
            .setCsrPem(csrPem(name, key))
            .build());
    out.put("csr_issue_status", issued.getStatus().name());
    X509Certificate leaf = cert(x509, issued.getCertificate().getCertificatePem());
    out.put("csr_certificate_key_matches", samePublicKey(leaf.getPublicKey(), key.getPublic()));
    out.put("csr_certificate_dns_names", dnsNames(leaf));
    out.put("csr_serial_matches",
        new BigInteger(issued.getCertificate().getSerialNumber(), 16).equals(leaf.getSerialNumber()));
    List<String> chain = issued.getCertificate().getCertificateChainPemList();
    out.put("issued_chain_matches_cas", chain.size() == 2
        && cert(x509, chain.get(0)).equals(interCert)
        && cert(x509, chain.get(1)).equals(rootCert)
        && cert(x509, issued.getCertificate().getIssuingCaCertificatePem()).equals(interCert));

    // 3. Issue with a key certmint generates (P-256); the PKCS #8 key must sign what the
    //    certificate's public key verifies.
    String worker = prefix + "-worker.example.com";
    IssueCertificateResponse generated = certs.issueCertificate(
        IssueCertificateRequest.newBuilder()
            .setCertificateProfile(profile.getSlug())
            .setRequestId(prefix + "-generated-1")
            .setAttributes(CertificateAttributes.newBuilder()
                .setSubject(Subject.newBuilder().setCommonName(worker))
                .setSubjectAlternativeNames(SubjectAlternativeNames.newBuilder().addDnsNames(worker))
                .setKeyAlgorithm(KeyAlgorithm.KEY_ALGORITHM_EC_P256))
            .build());
    out.put("generated_issue_status", generated.getStatus().name());
    X509Certificate genLeaf = cert(x509, generated.getCertificate().getCertificatePem());
    out.put("generated_key_matches", privateKeyMatches(generated.getPrivateKeyPem(), genLeaf));

    // 4. Renew the CSR certificate (a CSR certificate's renewal reuses its key by default).
    RenewCertificateResponse renewed = certs.renewCertificate(
        RenewCertificateRequest.newBuilder()
            .setCertificateId(issued.getCertificate().getCertificateId())
            .setRequestId(prefix + "-renew-1")
            .build());
    out.put("renew_status", renewed.getStatus().name());
    X509Certificate renewedLeaf = cert(x509, renewed.getCertificate().getCertificatePem());
    out.put("renewed_serial_differs", !renewedLeaf.getSerialNumber().equals(leaf.getSerialNumber()));
    out.put("renewed_key_reused", samePublicKey(renewedLeaf.getPublicKey(), key.getPublic()));

    // 5. Revoke the renewed certificate.
    var revoked = certs.revokeCertificate(
        RevokeCertificateRequest.newBuilder()
            .setCertificate(renewed.getCertificate().getCertificateId())
            .setReason(RevocationReason.REVOCATION_REASON_KEY_COMPROMISE)
            .build())
        .getCertificate();
    out.put("revoke_status", revoked.getStatus().name());
    out.put("revocation_reason", revoked.getRevocationReason().name());

    // 6. The intermediate's CRL, parsed and checked by the JDK's CertificateFactory / X509CRL.
    byte[] crlDer = cas.getCertificateRevocationList(
        GetCertificateRevocationListRequest.newBuilder().setCertificateAuthority(inter.getId()).build())
        .getCrlDer().toByteArray();
    X509CRL crl = (X509CRL) x509.generateCRL(new ByteArrayInputStream(crlDer));
    boolean crlSignatureValid;
    try {
      crl.verify(interCert.getPublicKey());
      crlSignatureValid = true;
    } catch (java.security.GeneralSecurityException e) {
      crlSignatureValid = false;
    }
    out.put("crl_signature_valid", crlSignatureValid);
    X509CRLEntry entry = crl.getRevokedCertificate(renewedLeaf.getSerialNumber());
    out.put("crl_revoked_serial_found", entry != null);
    if (entry != null) {
      CRLReason reason = entry.getRevocationReason();
      // java.security.cert.CRLReason's ordinals are RFC 5280's codes (7 is UNUSED).
      out.put("crl_revoked_reason_code", reason == null ? 0 : reason.ordinal());
    }
    out.put("crl_original_serial_found", crl.getRevokedCertificate(leaf.getSerialNumber()) != null);

    // 7. PKIX validation of leaf -> intermediate -> root (revocation checking off: the CRL was
    //    checked above; serverAuth required of the leaf), the root taken from
    //    CreateRootCertificateAuthority.
    List<String> errors = new ArrayList<>();
    Integer length = validate(x509, rootCert, List.of(leaf, interCert), errors);
    out.put("chain_verified", length != null);
    if (length != null) {
      out.put("chain_length", length);
    }
    out.put("generated_chain_verified",
        validate(x509, rootCert, List.of(genLeaf, interCert), errors) != null);
    out.put("chain_rejected_without_intermediate",
        validate(x509, rootCert, List.of(leaf), new ArrayList<>()) == null);

    // 8. An issuer token limited to the profile, made with the admin token.
    CreateAccessTokenResponse created = tokens.createAccessToken(
        CreateAccessTokenRequest.newBuilder()
            .setAccessToken(AccessToken.newBuilder()
                .setSlug(prefix + "-issuer")
                .setDescription("java client test issuer")
                .setRole(Role.ROLE_ISSUER)
                .addCertificateProfiles(profile.getSlug()))
            .setTtl(Duration.newBuilder().setSeconds(3600))
            .build());
    AccessToken token = created.getAccessToken();
    out.put("issuer_token_role", token.getRole().name());
    out.put("issuer_token_state", token.getState().name());
    out.put("issuer_token_profiles_match",
        token.getCertificateProfilesList().equals(List.of(profile.getId())));
    out.put("issuer_token_secret_returned", created.getSecret().startsWith("certmint_"));

    ManagedChannel issuerChannel = connect.apply(created.getSecret());
    try {
      var issuerCerts = CertificateServiceGrpc.newBlockingStub(issuerChannel)
          .withDeadlineAfter(60, TimeUnit.SECONDS);
      var issuerPolicies = CertificatePolicyServiceGrpc.newBlockingStub(issuerChannel)
          .withDeadlineAfter(60, TimeUnit.SECONDS);
      String service = prefix + "-service.example.com";
      Function<String, IssueCertificateResponse> issueAsIssuer =
          requestId -> issuerCerts.issueCertificate(IssueCertificateRequest.newBuilder()
              .setCertificateProfile(profile.getSlug())
              .setRequestId(requestId)
              .setAttributes(CertificateAttributes.newBuilder()
                  .setSubject(Subject.newBuilder().setCommonName(service))
                  .setSubjectAlternativeNames(SubjectAlternativeNames.newBuilder().addDnsNames(service))
                  .setKeyAlgorithm(KeyAlgorithm.KEY_ALGORITHM_EC_P256))
              .build());

      //    It issues on its profile...
      IssueCertificateResponse byIssuer = issueAsIssuer.apply(prefix + "-issuer-1");
      out.put("issuer_issue_status", byIssuer.getStatus().name());
      X509Certificate issuerLeaf = cert(x509, byIssuer.getCertificate().getCertificatePem());
      out.put("issuer_certificate_verified",
          validate(x509, rootCert, List.of(issuerLeaf, interCert), errors) != null);

      //    ...but may not call an admin RPC.
      CallOutcome denied = callError(() -> issuerPolicies.createCertificatePolicy(
          CreateCertificatePolicyRequest.newBuilder()
              .setPreset(CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER)
              .setCertificatePolicy(CertificatePolicy.newBuilder()
                  .setSlug(prefix + "-issuer-policy")
                  .setMaxTtl(Duration.newBuilder().setSeconds(DAY)))
              .build()));
      out.put("issuer_admin_call_code", denied.code());
      out.put("issuer_admin_call_reason", denied.reason());

      //    Revoked with the admin token, it authenticates nothing any more.
      AccessToken revokedToken = tokens.revokeAccessToken(
          RevokeAccessTokenRequest.newBuilder().setAccessToken(token.getId()).build())
          .getAccessToken();
      out.put("revoked_token_state", revokedToken.getState().name());
      CallOutcome afterRevoke = callError(() -> issueAsIssuer.apply(prefix + "-issuer-2"));
      out.put("revoked_token_call_code", afterRevoke.code());
      out.put("revoked_token_call_reason", afterRevoke.reason());
    } finally {
      issuerChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    if (!errors.isEmpty()) {
      out.put("chain_error", String.join("; ", errors));
    }
    return out;
  }

  /**
   * Watch mode: WatchCertificates on the certificate's lineage (resumed after afterCursor when
   * set) until the RENEWED event of its successor, which is PKIX-validated to the CA in caFile.
   */
  static Map<String, Object> watch(ManagedChannel channel, String certificateId, String caFile,
      String afterCursor) throws Exception {
    CertificateFactory x509 = CertificateFactory.getInstance("X.509");
    X509Certificate ca = cert(x509, Files.readString(Path.of(caFile)));
    CertificateServiceGrpc.CertificateServiceBlockingStub certs =
        CertificateServiceGrpc.newBlockingStub(channel);
    String oldSerial = certs.withDeadlineAfter(30, TimeUnit.SECONDS)
        .getCertificate(GetCertificateRequest.newBuilder().setCertificate(certificateId).build())
        .getCertificate().getSerialNumber();
    // A watch waits for the server's renewal timer.
    Iterator<WatchCertificatesResponse> events = certs.withDeadlineAfter(240, TimeUnit.SECONDS)
        .watchCertificates(WatchCertificatesRequest.newBuilder()
            .setCertificateId(certificateId).setAfterCursor(afterCursor).build());
    while (events.hasNext()) {
      WatchCertificatesResponse event = events.next();
      if (event.getType() != CertificateEventType.CERTIFICATE_EVENT_TYPE_RENEWED
          || !event.getPreviousCertificateId().equals(certificateId)) {
        continue;
      }
      var successor = event.getCertificate();
      List<X509Certificate> path = new ArrayList<>();
      path.add(cert(x509, successor.getCertificatePem()));
      // The chain ends with the root: the CA is the trust anchor, not part of the path.
      for (String pem : successor.getCertificateChainPemList()) {
        X509Certificate c = cert(x509, pem);
        if (!c.equals(ca)) {
          path.add(c);
        }
      }
      List<String> errors = new ArrayList<>();
      if (validate(x509, ca, path, errors) == null) {
        throw new IllegalStateException("the renewed certificate does not verify: " + errors);
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("language", "java");
      out.put("old_serial", oldSerial);
      out.put("new_serial", successor.getSerialNumber());
      out.put("verified", true);
      return out;
    }
    throw new IllegalStateException("the watch ended before the certificate was renewed");
  }

  /** PKIX-validates the path; returns its length with the trust anchor, or null (error noted). */
  static Integer validate(CertificateFactory x509, X509Certificate root, List<X509Certificate> path,
      List<String> errors) throws Exception {
    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
    params.setRevocationEnabled(false);
    X509CertSelector target = new X509CertSelector();
    target.setExtendedKeyUsage(Set.of(SERVER_AUTH));
    params.setTargetCertConstraints(target);
    CertPath certPath = x509.generateCertPath(path);
    try {
      CertPathValidator.getInstance("PKIX").validate(certPath, params);
      return path.size() + 1;
    } catch (CertPathValidatorException e) {
      errors.add(e.getMessage());
      return null;
    }
  }

  static String csrPem(String name, KeyPair key) throws Exception {
    ExtensionsGenerator extensions = new ExtensionsGenerator();
    extensions.addExtension(Extension.subjectAlternativeName, false,
        new GeneralNames(new GeneralName(GeneralName.dNSName, name)));
    PKCS10CertificationRequest csr =
        new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + name), key.getPublic())
            .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate())
            .build(new JcaContentSignerBuilder("SHA256withRSA").build(key.getPrivate()));
    StringWriter pem = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(pem)) {
      writer.writeObject(csr);
    }
    return pem.toString();
  }

  static X509Certificate cert(CertificateFactory x509, String pem) throws Exception {
    return (X509Certificate) x509.generateCertificate(
        new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
  }

  static boolean samePublicKey(PublicKey a, PublicKey b) {
    return Arrays.equals(a.getEncoded(), b.getEncoded()); // SubjectPublicKeyInfo DER
  }

  static List<String> dnsNames(X509Certificate cert) throws Exception {
    List<String> names = new ArrayList<>();
    Collection<List<?>> sans = cert.getSubjectAlternativeNames();
    for (List<?> san : sans == null ? List.<List<?>>of() : sans) {
      if (((Integer) san.get(0)) == 2) { // dNSName
        names.add((String) san.get(1));
      }
    }
    return names;
  }

  /** Parses a PKCS #8 PEM key and checks that it signs what the certificate's key verifies. */
  static boolean privateKeyMatches(String pem, X509Certificate cert) throws Exception {
    String begin = "-----BEGIN PRIVATE KEY-----";
    String end = "-----END PRIVATE KEY-----";
    String text = pem.trim();
    if (!text.startsWith(begin) || !text.endsWith(end)) {
      return false;
    }
    byte[] der = Base64.getMimeDecoder().decode(text.substring(begin.length(), text.length() - end.length()));
    String algorithm = cert.getPublicKey().getAlgorithm();
    PrivateKey key = KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
    String signatureAlgorithm = switch (algorithm) {
      case "EC" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      default -> "Ed25519";
    };
    byte[] message = new byte[32];
    new SecureRandom().nextBytes(message);
    Signature signer = Signature.getInstance(signatureAlgorithm);
    signer.initSign(key);
    signer.update(message);
    byte[] signature = signer.sign();
    Signature verifier = Signature.getInstance(signatureAlgorithm);
    verifier.initVerify(cert.getPublicKey());
    verifier.update(message);
    return verifier.verify(signature);
  }

  /** JSON for the summary's values: strings, booleans, numbers and lists of strings. */
  static String toJson(Object value) {
    if (value instanceof Map<?, ?> map) {
      List<String> fields = new ArrayList<>();
      map.forEach((k, v) -> fields.add(toJson(k) + ":" + toJson(v)));
      return "{" + String.join(",", fields) + "}";
    }
    if (value instanceof List<?> list) {
      List<String> items = new ArrayList<>();
      list.forEach(v -> items.add(toJson(v)));
      return "[" + String.join(",", items) + "]";
    }
    if (value instanceof String s) {
      StringBuilder sb = new StringBuilder("\"");
      for (char c : s.toCharArray()) {
        if (c == '"' || c == '\\') {
          sb.append('\\').append(c);
        } else if (c < 0x20) {
          sb.append(String.format("\\u%04x", (int) c));
        } else {
          sb.append(c);
        }
      }
      return sb.append('"').toString();
    }
    return String.valueOf(value); // Boolean, Integer, Long
  }
}
