import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * Java's JSSE (SunJSSE, PKIX path validation, HTTPS endpoint identification) as a relying party
 * of certificates certmint issued. One check per stdin line, tab-separated; one verdict per
 * line on stdout: "ok" or "fail<TAB>error".
 *
 * <pre>
 * connect PORT NAME ROOT
 *     dial 127.0.0.1:PORT and verify the server for NAME (a DNS name, sent as SNI, or an IP
 *     address) with ROOT as the only trust anchor.
 * </pre>
 */
public final class TlsPeer {
  private static boolean isIp(String name) {
    return name.contains(":") || name.matches("[0-9.]+");
  }

  private static void connect(String[] f) throws Exception {
    int port = Integer.parseInt(f[1]);
    String name = f[2];
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (FileInputStream in = new FileInputStream(f[3])) {
      Certificate root = CertificateFactory.getInstance("X.509").generateCertificate(in);
      trust.setCertificateEntry("root", root);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    Socket raw = new Socket();
    raw.connect(new InetSocketAddress("127.0.0.1", port), 20_000);
    raw.setSoTimeout(20_000);
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(raw, name, port, true)) {
      SSLParameters p = s.getSSLParameters();
      // What an HTTPS client does: RFC 2818 / RFC 6125 matching of NAME against the SANs.
      p.setEndpointIdentificationAlgorithm("HTTPS");
      if (!isIp(name)) p.setServerNames(List.of(new SNIHostName(name)));
      s.setSSLParameters(p);
      s.startHandshake();
    }
  }

  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isEmpty()) continue;
      String[] f = line.split("\t", -1);
      try {
        if (!f[0].equals("connect")) throw new IllegalArgumentException("bad mode " + f[0]);
        connect(f);
        System.out.println("ok");
      } catch (Exception e) {
        Throwable root = e;
        while (root.getCause() != null) root = root.getCause();
        System.out.println("fail\t" + (e + " / " + root).replace('\n', ' '));
      }
      System.out.flush();
    }
  }
}
