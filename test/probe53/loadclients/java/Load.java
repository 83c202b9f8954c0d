import com.google.gson.Gson;
import dev.certmint.v1.CertificateAttributes;
import dev.certmint.v1.CertificateEventType;
import dev.certmint.v1.CertificateServiceGrpc;
import dev.certmint.v1.GetCertificateRequest;
import dev.certmint.v1.IssueCertificateRequest;
import dev.certmint.v1.Subject;
import dev.certmint.v1.SubjectAlternativeNames;
import dev.certmint.v1.WatchCertificatesRequest;
import dev.certmint.v1.WatchCertificatesResponse;
import io.grpc.CallCredentials;
import io.grpc.ConnectivityState;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.io.File;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Java service using certmint with grpc-java (Netty: auto flow control sends BDP pings) as its
 * users run it: one channel over TLS with keepAliveTime 10 s and keepAliveWithoutCalls, a retry
 * policy on UNAVAILABLE, unary reads one after another and from 64 threads, gzip
 * (withCompression), deadlines of 1 s to 40 days (withDeadlineAfter), watches cancelled in bulk,
 * a watch that resumes with its cursor when the server recycles the connection, and hedged reads
 * (a hedging policy in the service config). Prints one JSON object; ../java-client.test.ts
 * asserts on it. Usage: Load volume|rollover|hedging. Environment as for ../go/main.go.
 */
public final class Load {
  static final class Bearer extends CallCredentials {
    @Override
    public void applyRequestMetadata(RequestInfo info, java.util.concurrent.Executor executor, MetadataApplier applier) {
      Metadata m = new Metadata();
      m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
          "Bearer " + System.getenv("CERTMINT_TOKEN"));
      applier.apply(m);
    }
  }

  static final class Tally {
    int calls, errors, wrong;
    List<String> first_errors = new ArrayList<>();

    synchronized void add(Throwable err, boolean right) {
      calls++;
      if (err != null) {
        errors++;
        if (first_errors.size() < 3) first_errors.add(Status.fromThrowable(err).toString());
      } else if (!right) {
        wrong++;
      }
    }
  }

  /** Counts the channel's transitions to READY: one while the server keeps the connection. */
  static final class Readiness {
    final AtomicInteger ready = new AtomicInteger();
    final ManagedChannel channel;

    Readiness(ManagedChannel channel) {
      this.channel = channel;
      watch(channel.getState(true));
    }

    void watch(ConnectivityState last) {
      channel.notifyWhenStateChanged(last, () -> {
        ConnectivityState now = channel.getState(false);
        if (now == ConnectivityState.READY) ready.incrementAndGet();
        if (now != ConnectivityState.SHUTDOWN) watch(now);
      });
    }
  }

  static Map<String, Object> methodConfig(String method, String policyName, Map<String, Object> policy) {
    Map<String, Object> name = new HashMap<>();
    name.put("service", "certmint.v1.CertificateService");
    if (method != null) name.put("method", method);
    Map<String, Object> mc = new HashMap<>();
    mc.put("name", List.of(name));
    mc.put(policyName, policy);
    return Map.of("methodConfig", List.of(mc));
  }

  static ManagedChannel channel(Map<String, Object> serviceConfig) throws Exception {
    var creds = TlsChannelCredentials.newBuilder()
        .trustManager(new File(System.getenv("LOAD_CA_FILE"))).build();
    ManagedChannelBuilder<?> b = Grpc.newChannelBuilder(System.getenv("LOAD_ADDR"), creds)
        .keepAliveTime(10, TimeUnit.SECONDS)
        .keepAliveTimeout(5, TimeUnit.SECONDS)
        .keepAliveWithoutCalls(true)
        .enableRetry();
    if (serviceConfig != null) b.defaultServiceConfig(serviceConfig);
    return b.build();
  }

  /** Retry on UNAVAILABLE, the service config a Java team copies from the gRPC docs. */
  static Map<String, Object> retryOnUnavailable() {
    Map<String, Object> retry = new HashMap<>();
    retry.put("maxAttempts", 4.0);
    retry.put("initialBackoff", "0.1s");
    retry.put("maxBackoff", "1s");
    retry.put("backoffMultiplier", 2.0);
    retry.put("retryableStatusCodes", List.of("UNAVAILABLE"));
    return methodConfig(null, "retryPolicy", retry);
  }

  static CertificateServiceGrpc.CertificateServiceBlockingStub stub(ManagedChannel ch) {
    return CertificateServiceGrpc.newBlockingStub(ch).withCallCredentials(new Bearer());
  }

  static Throwable get(CertificateServiceGrpc.CertificateServiceBlockingStub s, String id, long amount, TimeUnit unit, boolean[] right) {
    try {
      var res = s.withDeadlineAfter(amount, unit)
          .getCertificate(GetCertificateRequest.newBuilder().setCertificate(id).build());
      right[0] = res.getCertificate().getId().equals(id);
      return null;
    } catch (StatusRuntimeException e) {
      return e;
    }
  }

  static void getInto(Tally t, CertificateServiceGrpc.CertificateServiceBlockingStub s, String id) {
    boolean[] right = {false};
    Throwable err = get(s, id, 30, TimeUnit.SECONDS, right);
    t.add(err, right[0]);
  }

  static IssueCertificateRequest issueRequest(String name) {
    return IssueCertificateRequest.newBuilder()
        .setCertificateProfile(System.getenv("LOAD_PROFILE"))
        .setAttributes(CertificateAttributes.newBuilder()
            .setSubject(Subject.newBuilder().setCommonName(name))
            .setSubjectAlternativeNames(SubjectAlternativeNames.newBuilder().addDnsNames(name)))
        .build();
  }

  static int calls() {
    String v = System.getenv("LOAD_CALLS");
    return v == null ? 1500 : Integer.parseInt(v);
  }

  static void volume(Map<String, Object> out) throws Exception {
    String id = System.getenv("LOAD_CERT_ID");
    int n = calls();
    ManagedChannel ch = channel(retryOnUnavailable());
    Readiness ready = new Readiness(ch);
    var s = stub(ch);

    Tally seq = new Tally();
    for (int i = 0; i < n; i++) getInto(seq, s, id);
    out.put("sequential", seq);

    Tally conc = new Tally();
    ExecutorService pool = Executors.newFixedThreadPool(64);
    List<Future<?>> fs = new ArrayList<>();
    for (int i = 0; i < n; i++) fs.add(pool.submit(() -> getInto(conc, s, id)));
    for (Future<?> f : fs) f.get();
    out.put("concurrent64", conc);

    Tally gz = new Tally();
    var gzs = s.withCompression("gzip");
    for (int i = 0; i < 300; i++) getInto(gz, gzs, id);
    for (int i = 0; i < 5; i++) {
      try {
        var res = gzs.withDeadlineAfter(30, TimeUnit.SECONDS).issueCertificate(issueRequest("java-gzip-" + i + ".example.com"));
        gz.add(null, !res.getCertificate().getCertificatePem().isEmpty());
      } catch (StatusRuntimeException e) {
        gz.add(e, false);
      }
    }
    out.put("gzip", gz);

    Map<String, String> deadlines = new LinkedHashMap<>();
    Object[][] ds = {{"1s", 1L, TimeUnit.SECONDS}, {"30s", 30L, TimeUnit.SECONDS}, {"48h", 48L, TimeUnit.HOURS}, {"40d", 40L, TimeUnit.DAYS}};
    for (Object[] d : ds) {
      Throwable err = get(s, id, (Long) d[1], (TimeUnit) d[2], new boolean[1]);
      deadlines.put((String) d[0], err == null ? "OK" : Status.fromThrowable(err).getCode().name());
    }
    out.put("deadlines", deadlines);
    try {
      Iterator<WatchCertificatesResponse> it = s.withDeadlineAfter(1, TimeUnit.SECONDS)
          .watchCertificates(WatchCertificatesRequest.newBuilder().setCertificateId(id).build());
      while (it.hasNext()) it.next();
      out.put("watch_1s_deadline", "OK");
    } catch (StatusRuntimeException e) {
      out.put("watch_1s_deadline", e.getStatus().getCode().name());
    }

    // 90 watches past their first message, then cancelled together (one cancellable Context).
    Tally opened = new Tally();
    Context.CancellableContext cancellable = Context.current().withCancellation();
    List<Future<?>> ws = new ArrayList<>();
    ExecutorService wpool = Executors.newFixedThreadPool(90);
    for (int i = 0; i < 90; i++) {
      ws.add(wpool.submit(() -> cancellable.run(() -> {
        try {
          s.watchCertificates(WatchCertificatesRequest.newBuilder().setCertificateId(id).build()).next();
          opened.add(null, true);
        } catch (StatusRuntimeException e) {
          opened.add(e, false);
        }
      })));
    }
    for (Future<?> f : ws) f.get();
    cancellable.cancel(null);
    wpool.shutdown();
    out.put("watches_opened", opened);
    Tally after = new Tally();
    for (int i = 0; i < 200; i++) getInto(after, s, id);
    out.put("after_cancel", after);

    Thread.sleep(Long.parseLong(System.getenv().getOrDefault("LOAD_IDLE_MS", "21000")));
    Tally idle = new Tally();
    for (int i = 0; i < 20; i++) getInto(idle, s, id);
    out.put("after_idle", idle);
    out.put("connections", ready.ready.get());
    pool.shutdown();
    ch.shutdownNow();
  }

  static void rollover(Map<String, Object> out) throws Exception {
    ManagedChannel ch = channel(null);
    Readiness ready = new Readiness(ch);
    var s = stub(ch);
    Map<String, Integer> seen = new ConcurrentHashMap<>();
    Map<String, Integer> resumes = new ConcurrentHashMap<>();
    List<String> fatal = java.util.Collections.synchronizedList(new ArrayList<>());
    CountDownLatch started = new CountDownLatch(1);
    Context.CancellableContext wctx = Context.current().withCancellation();
    Thread watcher = new Thread(() -> wctx.run(() -> {
      String cursor = "";
      while (!wctx.isCancelled()) {
        String code;
        try {
          Iterator<WatchCertificatesResponse> it = s.watchCertificates(WatchCertificatesRequest.newBuilder()
              .setCertificateProfile(System.getenv("LOAD_PROFILE")).setAfterCursor(cursor).build());
          while (it.hasNext()) {
            WatchCertificatesResponse e = it.next();
            cursor = e.getCursor();
            started.countDown();
            if (e.getType() == CertificateEventType.CERTIFICATE_EVENT_TYPE_ISSUED) {
              seen.merge(e.getCertificate().getId(), 1, Integer::sum);
            }
          }
          code = "OK";
        } catch (StatusRuntimeException e) {
          if (wctx.isCancelled()) return;
          code = e.getStatus().getCode().name();
          if (!code.equals("UNAVAILABLE")) fatal.add(e.getStatus().toString());
        }
        resumes.merge(code, 1, Integer::sum);
        if (!code.equals("UNAVAILABLE")) return;
      }
    }));
    watcher.start();
    started.await(60, TimeUnit.SECONDS);
    // 16 readers the while, on the same channel, across every recycling.
    Tally reads = new Tally();
    java.util.concurrent.atomic.AtomicBoolean reading = new java.util.concurrent.atomic.AtomicBoolean(true);
    ExecutorService readers = Executors.newFixedThreadPool(16);
    for (int r = 0; r < 16; r++) {
      readers.submit(() -> {
        while (reading.get()) getInto(reads, s, System.getenv("LOAD_CERT_ID"));
      });
    }
    List<String> issued = new ArrayList<>();
    Tally unary = new Tally();
    for (int i = 0; i < 200 && (resumes.getOrDefault("UNAVAILABLE", 0) < 2 || ready.ready.get() < 3); i++) {
      try {
        var res = s.withDeadlineAfter(30, TimeUnit.SECONDS).issueCertificate(issueRequest("java-roll-" + i + ".example.com"));
        unary.add(null, true);
        issued.add(res.getCertificate().getCertificateId());
      } catch (StatusRuntimeException e) {
        unary.add(e, false);
      }
      Thread.sleep(200); // a service's pace, not a synchronisation
    }
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < end && fatal.isEmpty() && !issued.stream().allMatch(seen::containsKey)) {
      Thread.sleep(50);
    }
    wctx.cancel(null);
    watcher.join(10_000);
    reading.set(false);
    readers.shutdown();
    readers.awaitTermination(60, TimeUnit.SECONDS);
    out.put("reads", reads);
    out.put("issued", issued.size());
    out.put("missing", issued.stream().filter(c -> !seen.containsKey(c)).count());
    out.put("repeated", issued.stream().filter(c -> seen.getOrDefault(c, 0) > 1).count());
    out.put("resumes", new HashMap<>(resumes));
    if (!fatal.isEmpty()) out.put("watch_fatal", fatal.get(0));
    out.put("unary", unary);
    out.put("reconnected_twice", ready.ready.get() >= 3);
    ch.shutdownNow();
  }

  /** Reads hedged as gRFC A6 describes: a second attempt at once, the loser cancelled. */
  static void hedging(Map<String, Object> out) throws Exception {
    String id = System.getenv("LOAD_CERT_ID");
    Map<String, Object> hedge = new HashMap<>();
    hedge.put("maxAttempts", 2.0);
    hedge.put("hedgingDelay", "0s");
    hedge.put("nonFatalStatusCodes", List.of("UNAVAILABLE"));
    ManagedChannel ch = channel(methodConfig("GetCertificate", "hedgingPolicy", hedge));
    Readiness ready = new Readiness(ch);
    var s = stub(ch);
    Tally seq = new Tally();
    for (int i = 0; i < calls(); i++) getInto(seq, s, id);
    out.put("hedged", seq);
    out.put("connections", ready.ready.get());
    ch.shutdownNow();
  }

  public static void main(String[] args) throws Exception {
    Map<String, Object> out = new LinkedHashMap<>();
    switch (args[0]) {
      case "volume" -> volume(out);
      case "rollover" -> rollover(out);
      case "hedging" -> hedging(out);
      default -> throw new IllegalArgumentException(args[0]);
    }
    System.out.println(new Gson().toJson(out));
    System.exit(0);
  }
}
