// Command load is a Go service using certmint with grpc-go as its users run it: one ClientConn
// over TLS, unary reads one after another and 64 at once, gzip, the deadlines Go code sets
// (context.WithTimeout of 1 s to 40 days), a keepalive of 10 s that pings while idle, watches
// cancelled in bulk, and a watch that resumes with its last cursor when the server recycles the
// connection (its maximum age). It prints one JSON object of what it saw; the test asserts on it
// (../go-client.test.ts).
//
// Usage: load volume|rollover|timeouts. Environment: LOAD_ADDR, LOAD_CA_FILE, CERTMINT_TOKEN,
// LOAD_PROFILE, LOAD_CERT_ID (a certificate to read), LOAD_CALLS, LOAD_IDLE_MS, and for
// timeouts LOAD_WORKERS, LOAD_CALLS_EACH, LOAD_DEADLINE_MS.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	certmintv1 "github.com/certmint/certmint/gen/go/certmint/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/grpclog"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return true }

// grpc-go's own error lines (a GOAWAY too_many_pings is one), kept to be counted.
var grpcErrors lockedBuffer

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// dials counts the TCP connections a ClientConn opened: one while the server keeps it.
type dials struct{ n atomic.Int64 }

func (d *dials) dial(ctx context.Context, addr string) (net.Conn, error) {
	d.n.Add(1)
	return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
}

func dial(d *dials, extra ...grpc.DialOption) *grpc.ClientConn {
	caPem, err := os.ReadFile(os.Getenv("LOAD_CA_FILE"))
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPem)
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})),
		grpc.WithPerRPCCredentials(bearer(os.Getenv("CERTMINT_TOKEN"))),
		grpc.WithContextDialer(d.dial),
		// The keepalive Go services are told to set (grpc-go's shortest Time).
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}),
	}, extra...)
	conn, err := grpc.NewClient(os.Getenv("LOAD_ADDR"), opts...)
	if err != nil {
		log.Fatal(err)
	}
	return conn
}

// tally counts a phase's calls and errors, and keeps the first few errors' texts.
type tally struct {
	mu     sync.Mutex
	Calls  int      `json:"calls"`
	Errors int      `json:"errors"`
	Wrong  int      `json:"wrong"`
	First  []string `json:"first_errors"`
}

func (t *tally) add(err error, right bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Calls++
	if err != nil {
		t.Errors++
		if len(t.First) < 3 {
			t.First = append(t.First, err.Error())
		}
	} else if !right {
		t.Wrong++
	}
}

// codeName spells a status code as gRPC's other libraries print it (DEADLINE_EXCEEDED).
func codeName(c codes.Code) string {
	if c == codes.OK {
		return "OK"
	}
	return strings.ToUpper(regexp.MustCompile("([a-z])([A-Z])").ReplaceAllString(c.String(), "${1}_${2}"))
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}

func get(ctx context.Context, c certmintv1.CertificateServiceClient, id string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := c.GetCertificate(ctx, &certmintv1.GetCertificateRequest{Certificate: id})
	if err == nil && res.GetCertificate().GetId() != id {
		return fmt.Errorf("GetCertificate(%s) answered %s", id, res.GetCertificate().GetId())
	}
	return err
}

func issue(ctx context.Context, c certmintv1.CertificateServiceClient, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := c.IssueCertificate(ctx, &certmintv1.IssueCertificateRequest{
		CertificateProfile: os.Getenv("LOAD_PROFILE"),
		Source: &certmintv1.IssueCertificateRequest_Attributes{Attributes: &certmintv1.CertificateAttributes{
			Subject:                 &certmintv1.Subject{CommonName: name},
			SubjectAlternativeNames: &certmintv1.SubjectAlternativeNames{DnsNames: []string{name}},
		}},
	})
	if err != nil {
		return "", err
	}
	if res.GetCertificate().GetCertificatePem() == "" {
		return "", fmt.Errorf("IssueCertificate(%s) answered no PEM", name)
	}
	return res.GetCertificate().GetCertificateId(), nil
}

func volume(out map[string]any) {
	ctx := context.Background()
	id := os.Getenv("LOAD_CERT_ID")
	n := envInt("LOAD_CALLS", 1500)
	d := &dials{}
	conn := dial(d)
	defer conn.Close()
	certs := certmintv1.NewCertificateServiceClient(conn)

	seq := &tally{}
	for i := 0; i < n; i++ {
		err := get(ctx, certs, id, 30*time.Second)
		seq.add(err, true)
	}
	out["sequential"] = seq

	conc := &tally{}
	work := make(chan int, n)
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				conc.add(get(ctx, certs, id, 30*time.Second), true)
			}
		}()
	}
	wg.Wait()
	out["concurrent64"] = conc

	// gzip on every request (grpc.UseCompressor), on a ClientConn of its own.
	gz := &tally{}
	gzConn := dial(&dials{}, grpc.WithDefaultCallOptions(grpc.UseCompressor(gzip.Name)))
	gzCerts := certmintv1.NewCertificateServiceClient(gzConn)
	for i := 0; i < 300; i++ {
		gz.add(get(ctx, gzCerts, id, 30*time.Second), true)
	}
	for i := 0; i < 5; i++ {
		_, err := issue(ctx, gzCerts, fmt.Sprintf("go-gzip-%d.example.com", i))
		gz.add(err, true)
	}
	gzConn.Close()
	out["gzip"] = gz

	// The deadlines Go code sets: all accepted.
	deadlines := map[string]string{}
	for name, t := range map[string]time.Duration{"1s": time.Second, "30s": 30 * time.Second, "48h": 48 * time.Hour, "40d": 40 * 24 * time.Hour} {
		deadlines[name] = codeName(status.Code(get(ctx, certs, id, t)))
	}
	out["deadlines"] = deadlines
	// A watch with a 1 s deadline ends DEADLINE_EXCEEDED.
	wctx, wcancel := context.WithTimeout(ctx, time.Second)
	stream, err := certs.WatchCertificates(wctx, &certmintv1.WatchCertificatesRequest{
		Scope: &certmintv1.WatchCertificatesRequest_CertificateId{CertificateId: id},
	})
	for err == nil {
		_, err = stream.Recv()
	}
	wcancel()
	out["watch_1s_deadline"] = codeName(status.Code(err))

	// 90 watches (the token may hold 100) open at once, each past its first message, then
	// cancelled together (90 RST_STREAMs), and the ClientConn goes on serving.
	cctx, ccancel := context.WithCancel(ctx)
	opened := &tally{}
	var owg sync.WaitGroup
	for i := 0; i < 90; i++ {
		owg.Add(1)
		go func() {
			defer owg.Done()
			s, err := certs.WatchCertificates(cctx, &certmintv1.WatchCertificatesRequest{
				Scope: &certmintv1.WatchCertificatesRequest_CertificateId{CertificateId: id},
			})
			if err == nil {
				_, err = s.Recv()
			}
			opened.add(err, true)
		}()
	}
	owg.Wait()
	ccancel()
	out["watches_opened"] = opened
	after := &tally{}
	for i := 0; i < 200; i++ {
		after.add(get(ctx, certs, id, 30*time.Second), true)
	}
	out["after_cancel"] = after

	// Idle with the keepalive on (pings every 10 s without calls), then calls again.
	time.Sleep(time.Duration(envInt("LOAD_IDLE_MS", 21000)) * time.Millisecond)
	idle := &tally{}
	for i := 0; i < 20; i++ {
		idle.add(get(ctx, certs, id, 30*time.Second), true)
	}
	out["after_idle"] = idle
	out["connections"] = d.n.Load()
}

// rollover: a profile watch that resumes after its last cursor whenever the server recycles the
// connection, while the same ClientConn issues certificates; every certificate reaches the
// watch once.
func rollover(out map[string]any) {
	ctx := context.Background()
	d := &dials{}
	conn := dial(d)
	defer conn.Close()
	certs := certmintv1.NewCertificateServiceClient(conn)

	var mu sync.Mutex
	seen := map[string]int{}
	resumes := map[string]int{}
	var watchFatal error
	started := make(chan struct{})
	wctx, wcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		cursor := ""
		once := sync.Once{}
		for {
			stream, err := certs.WatchCertificates(wctx, &certmintv1.WatchCertificatesRequest{
				Scope:       &certmintv1.WatchCertificatesRequest_CertificateProfile{CertificateProfile: os.Getenv("LOAD_PROFILE")},
				AfterCursor: cursor,
			})
			for err == nil {
				var e *certmintv1.WatchCertificatesResponse
				if e, err = stream.Recv(); err == nil {
					cursor = e.GetCursor()
					once.Do(func() { close(started) })
					if e.GetType() == certmintv1.CertificateEventType_CERTIFICATE_EVENT_TYPE_ISSUED {
						mu.Lock()
						seen[e.GetCertificate().GetId()]++
						mu.Unlock()
					}
				}
			}
			if wctx.Err() != nil {
				return
			}
			mu.Lock()
			resumes[codeName(status.Code(err))]++
			if status.Code(err) != codes.Unavailable {
				watchFatal = err
				mu.Unlock()
				return
			}
			mu.Unlock()
		}
	}()
	<-started

	// 16 workers read the while, on the same ClientConn, across every recycling.
	reads := &tally{}
	rctx, rcancel := context.WithCancel(ctx)
	var rwg sync.WaitGroup
	for w := 0; w < 16; w++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for rctx.Err() == nil {
				reads.add(get(ctx, certs, os.Getenv("LOAD_CERT_ID"), 30*time.Second), true)
			}
		}()
	}

	issued := []string{}
	unary := &tally{}
	resumed := func() int {
		mu.Lock()
		defer mu.Unlock()
		return resumes["UNAVAILABLE"]
	}
	for i := 0; i < 200 && (resumed() < 2 || d.n.Load() < 3); i++ {
		cid, err := issue(ctx, certs, fmt.Sprintf("go-roll-%d.example.com", i))
		unary.add(err, true)
		if err == nil {
			issued = append(issued, cid)
		}
		time.Sleep(200 * time.Millisecond) // a service's pace, not a synchronisation
	}
	// Every issued certificate reaches the watch (or the watch has failed).
	all := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if watchFatal != nil {
			return true
		}
		for _, cid := range issued {
			if seen[cid] == 0 {
				return false
			}
		}
		return true
	}
	for end := time.Now().Add(60 * time.Second); !all() && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
	wcancel()
	<-done
	rcancel()
	rwg.Wait()
	out["reads"] = reads
	mu.Lock()
	missing, repeated := 0, 0
	for _, cid := range issued {
		if seen[cid] == 0 {
			missing++
		}
		if seen[cid] > 1 {
			repeated++
		}
	}
	out["issued"] = len(issued)
	out["missing"] = missing
	out["repeated"] = repeated
	out["resumes"] = resumes
	if watchFatal != nil {
		out["watch_fatal"] = watchFatal.Error()
	}
	mu.Unlock()
	out["unary"] = unary
	out["reconnected_twice"] = d.n.Load() >= 3
}

// timeouts: a busy service whose reads all run into their deadlines while the database stalls
// (the test holds a lock): LOAD_WORKERS goroutines, each making LOAD_CALLS_EACH reads with a
// deadline of LOAD_DEADLINE_MS, one after another. grpc-go cancels each call at its deadline
// (RST_STREAM CANCEL). Every call must end DEADLINE_EXCEEDED, none UNAVAILABLE.
func timeouts(out map[string]any) {
	ctx := context.Background()
	id := os.Getenv("LOAD_CERT_ID")
	d := &dials{}
	conn := dial(d)
	defer conn.Close()
	certs := certmintv1.NewCertificateServiceClient(conn)
	// One read first, so that the connection is up before the stall counts.
	if err := get(ctx, certs, id, 30*time.Second); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stderr, "connected")
	deadline := time.Duration(envInt("LOAD_DEADLINE_MS", 200)) * time.Millisecond
	var mu sync.Mutex
	codesSeen := map[string]int{}
	first := map[string]string{}
	var wg sync.WaitGroup
	for w := 0; w < envInt("LOAD_WORKERS", 200); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < envInt("LOAD_CALLS_EACH", 10); i++ {
				err := get(ctx, certs, id, deadline)
				code := codeName(status.Code(err))
				mu.Lock()
				codesSeen[code]++
				if _, ok := first[code]; !ok && err != nil {
					first[code] = err.Error()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	out["codes"] = codesSeen
	out["first_errors"] = first
	out["connections"] = d.n.Load()
}

func main() {
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, io.Discard, &grpcErrors))
	out := map[string]any{}
	switch os.Args[1] {
	case "volume":
		volume(out)
	case "rollover":
		rollover(out)
	case "timeouts":
		timeouts(out)
	default:
		log.Fatalf("unknown mode %q", os.Args[1])
	}
	lines := []string{}
	for _, l := range strings.Split(grpcErrors.String(), "\n") {
		if strings.Contains(l, "GoAway") || strings.Contains(l, "too_many_pings") || strings.Contains(l, "ENHANCE_YOUR_CALM") {
			lines = append(lines, l)
		}
	}
	out["goaway_log_lines"] = lines
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}
