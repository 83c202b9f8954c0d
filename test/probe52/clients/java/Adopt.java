import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import dev.certmint.v1.CertificateAttributes;
import dev.certmint.v1.CertificateEventType;
import dev.certmint.v1.CertificateServiceGrpc;
import dev.certmint.v1.IssueCertificateRequest;
import dev.certmint.v1.IssueCertificateResponse;
import dev.certmint.v1.ListCertificatesRequest;
import dev.certmint.v1.RevocationReason;
import dev.certmint.v1.RevokeCertificateRequest;
import dev.certmint.v1.Subject;
import dev.certmint.v1.SubjectAlternativeNames;
import dev.certmint.v1.WatchCertificatesRequest;
import dev.certmint.v1.WatchCertificatesResponse;
import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.MetadataUtils;
import java.io.File;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * What a team adopting certmint from Java writes (gen/java as a source root, the README's jars):
 * prints one JSON object; test/probe52/clients/adoption.test.ts asserts on it. Environment as
 * for ../go/main.go.
 */
public final class Adopt {
  /** The access token on every call, the idiomatic way (CallCredentials). */
  static final class Bearer extends CallCredentials {
    @Override
    public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
      Metadata m = new Metadata();
      m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
          "Bearer " + System.getenv("CERTMINT_TOKEN"));
      applier.apply(m);
    }
  }

  static ManagedChannel channel(boolean withClientCert) throws Exception {
    var creds = TlsChannelCredentials.newBuilder()
        .trustManager(new File(System.getenv("ADOPT_CA_FILE")));
    if (withClientCert) {
      creds.keyManager(new File(System.getenv("ADOPT_CLIENT_CERT")),
          new File(System.getenv("ADOPT_CLIENT_KEY")));
    }
    ChannelCredentials built = creds.build();
    return Grpc.newChannelBuilder(System.getenv("ADOPT_ADDR"), built).build();
  }

  static IssueCertificateRequest issueRequest(String name) {
    return IssueCertificateRequest.newBuilder()
        .setCertificateProfile(System.getenv("ADOPT_PROFILE"))
        .setAttributes(CertificateAttributes.newBuilder()
            .setSubject(Subject.newBuilder().setCommonName(name))
            .setSubjectAlternativeNames(SubjectAlternativeNames.newBuilder().addDnsNames(name)))
        .build();
  }

  static String q(Object v) {
    if (v instanceof String s) return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    if (v instanceof List<?> l) {
      var parts = new ArrayList<String>();
      for (Object o : l) parts.add(q(o));
      return "[" + String.join(",", parts) + "]";
    }
    return String.valueOf(v);
  }

  public static void main(String[] args) throws Exception {
    Map<String, Object> out = new LinkedHashMap<>();
    String name = System.getenv("ADOPT_NAME");
    ManagedChannel tls = channel(false);
    ManagedChannel mtls = channel(true);
    try {
      var certs = CertificateServiceGrpc.newBlockingStub(tls).withCallCredentials(new Bearer());
      IssueCertificateResponse issued =
          certs.withDeadlineAfter(30, TimeUnit.SECONDS).issueCertificate(issueRequest(name + "-tls.example.com"));
      out.put("tls_status", issued.getStatus().name());
      Metadata rid = new Metadata();
      rid.put(Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER), name + "-mtls-call");
      var m = CertificateServiceGrpc.newBlockingStub(mtls).withCallCredentials(new Bearer())
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(rid))
          .withDeadlineAfter(30, TimeUnit.SECONDS)
          .issueCertificate(issueRequest(name + "-mtls.example.com"));
      out.put("mtls_status", m.getStatus().name());

      try {
        certs.withDeadlineAfter(30, TimeUnit.SECONDS).issueCertificate(IssueCertificateRequest.newBuilder()
            .setCertificateProfile(System.getenv("ADOPT_PROFILE"))
            .addKeyUsagesValue(99).addExtendedKeyUsagesValue(99).build());
        throw new IllegalStateException("unknown enum values accepted");
      } catch (StatusRuntimeException e) {
        out.put("bad_request_code", e.getStatus().getCode().name());
        var st = StatusProto.fromThrowable(e);
        List<String> fields = new ArrayList<>();
        for (var d : st.getDetailsList()) {
          if (d.is(ErrorInfo.class)) {
            out.put("bad_request_reason", d.unpack(ErrorInfo.class).getReason());
            out.put("bad_request_domain", d.unpack(ErrorInfo.class).getDomain());
          } else if (d.is(BadRequest.class)) {
            for (var v : d.unpack(BadRequest.class).getFieldViolationsList()) fields.add(v.getField());
          }
        }
        Collections.sort(fields);
        out.put("bad_request_fields", fields);
      }

      StatusRuntimeException refused = null;
      for (int i = 0; i < 20 && refused == null; i++) {
        try {
          certs.withDeadlineAfter(30, TimeUnit.SECONDS)
              .listCertificates(ListCertificatesRequest.newBuilder().setPageSize(1).build());
        } catch (StatusRuntimeException e) {
          refused = e;
        }
      }
      out.put("retry_code", refused.getStatus().getCode().name());
      for (var d : StatusProto.fromThrowable(refused).getDetailsList()) {
        if (d.is(ErrorInfo.class)) out.put("retry_reason", d.unpack(ErrorInfo.class).getReason());
        if (d.is(RetryInfo.class)) {
          var delay = d.unpack(RetryInfo.class).getRetryDelay();
          out.put("retry_delay_positive", delay.getSeconds() > 0 || delay.getNanos() > 0);
        }
      }

      String id = issued.getCertificate().getCertificateId();
      Iterator<WatchCertificatesResponse> stream = certs.withDeadlineAfter(3, TimeUnit.SECONDS)
          .watchCertificates(WatchCertificatesRequest.newBuilder().setCertificateId(id).build());
      WatchCertificatesResponse first = stream.next();
      out.put("watch_first_type", first.getType().name());
      String last = first.getCursor();
      try {
        while (stream.hasNext()) last = stream.next().getCursor();
        out.put("watch_deadline_code", "ended without an error");
      } catch (StatusRuntimeException e) {
        out.put("watch_deadline_code", e.getStatus().getCode().name());
      }

      certs.withDeadlineAfter(30, TimeUnit.SECONDS).revokeCertificate(RevokeCertificateRequest.newBuilder()
          .setCertificate(id).setReason(RevocationReason.REVOCATION_REASON_SUPERSEDED).build());
      var resumed = certs.withDeadlineAfter(30, TimeUnit.SECONDS).watchCertificates(
          WatchCertificatesRequest.newBuilder().setCertificateId(id).setAfterCursor(last).build());
      while (resumed.hasNext()) {
        var e = resumed.next();
        if (e.getType() == CertificateEventType.CERTIFICATE_EVENT_TYPE_KEEPALIVE) continue;
        out.put("resumed_first_type", e.getType().name());
        out.put("resumed_certificate_is_watched", e.getCertificate().getId().equals(id));
        break;
      }
    } finally {
      tls.shutdownNow();
      mtls.shutdownNow();
    }
    var parts = new ArrayList<String>();
    for (var e : out.entrySet()) parts.add(q(e.getKey()) + ":" + q(e.getValue()));
    System.out.println("{" + String.join(",", parts) + "}");
    System.exit(0);
  }
}
