/* A lean SSE load generator for the benchmarks: thousands of EventSource-like viewers in one
 * thread (epoll, non-blocking sockets), so the figures are the platform's, not the load
 * generator's (the Python viewers of bench/sse_viewer.py cost ~3x the server's CPU per event).
 *
 * Each viewer does what bench/sse_viewer.Viewer does: GET PATH over HTTP/1.1 on 127.0.0.1:PORT with
 * `Accept: text/event-stream` (and `Last-Event-ID: <last seen>` when it has seen one), decodes the
 * chunked body, parses SSE lines (`: connected` comment, `id:`, `event:`, `data:`), checks that
 * data's "seq" equals id, and records every event as (viewer, id, type, CLOCK_MONOTONIC receive
 * time: Python's time.monotonic() reads the same clock). As EventSource does, a connection refused,
 * reset or closed is tried again after a backoff with its Last-Event-ID; an answer other than 200
 * ends the viewer (its error is kept).
 *
 * Driven by bench/sse_load.py over stdin/stdout, one line per command and one line per answer:
 *   open COUNT PATH      -> "opened FIRST COUNT": COUNT more viewers of PATH, started as pacing allows
 *   pace MAXPENDING RATE -> "paced": at most MAXPENDING viewers on their way in (0: no limit), at
 *                           most RATE new connections a second (0: no limit)
 *   status               -> "status opened= connected= failed= min_last= events= retries= ends= all_at= now="
 *                           (min_last: the lowest last id over viewers not failed, -1 if one has none;
 *                           all_at: when every opened viewer was last seen connected, -1 if not now)
 *   storm                -> "stormed T": every connection closed at once, all reconnect with Last-Event-ID
 *   dump FILE            -> "dumped EVENTS": the records and each viewer's state, binary (see dump())
 *   quit                 -> exits
 *
 * Plain C99 + Linux:  cc -O2 -o sse_load sse_load.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { IDLE, QUEUED, WAITING, CONNECTING, HEADERS, BODY, FAILED };
enum chunk_state { CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF };

typedef struct {
    char *data;
    size_t len, cap;
} buffer;

typedef struct {
    int fd, state, path, chunked, chunk_state, connected, has_id, status;
    unsigned gen, attempts, retries, ends, bad_data, queued;
    long long last_id, cur_id;
    size_t chunk_left;
    int cur_type, has_data;
    buffer in, line, data;
    char error[120];
} viewer;

typedef struct {
    uint32_t viewer;
    uint16_t type, bad;
    int64_t id;
    double t;
} record;

typedef struct {
    double due;
    unsigned viewer, gen;
} timer;

static viewer *viewers;
static unsigned nviewers, nconnected, npending, nfailed;
static size_t cap_viewers;
static char *paths[1024];
static unsigned npaths;
static char *types[256];
static unsigned ntypes;
static record *records;
static size_t nrecords, cap_records;
static timer *heap;
static size_t nheap, cap_heap;
static unsigned *queue;  /* viewers waiting to start, a ring */
static size_t qhead, qlen, qcap;
static unsigned max_pending = 500;
static double rate, next_start, all_connected_at = -1;
static int epfd, port;
static char stdin_buf[4096];
static size_t stdin_len;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *grow(void *p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    p = realloc(p, c * size);
    if (!p) { perror("realloc"); exit(2); }
    *cap = c;
    return p;
}

static void append(buffer *b, const char *s, size_t n) {
    b->data = grow(b->data, &b->cap, b->len + n + 1, 1);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

/* --- retry timers: a binary heap by due time; a viewer's gen makes stale entries harmless --- */

static void heap_push(double due, unsigned v) {
    heap = grow(heap, &cap_heap, nheap + 1, sizeof *heap);
    size_t i = nheap++;
    while (i && heap[(i - 1) / 2].due > due) { heap[i] = heap[(i - 1) / 2]; i = (i - 1) / 2; }
    heap[i] = (timer){due, v, viewers[v].gen};
}

static timer heap_pop(void) {
    timer top = heap[0], last = heap[--nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= nheap) break;
        if (c + 1 < nheap && heap[c + 1].due < heap[c].due) c++;
        if (heap[c].due >= last.due) break;
        heap[i] = heap[c];
        i = c;
    }
    if (nheap) heap[i] = last;
    return top;
}

static void enqueue(unsigned v) {
    if (viewers[v].queued) return;
    if (qlen == qcap) {  /* grow the ring, keeping its order */
        size_t old = qcap, c = qcap ? 2 * qcap : 1024;
        unsigned *q = malloc(c * sizeof *q);
        for (size_t i = 0; i < qlen; i++) q[i] = queue[(qhead + i) % old];
        free(queue);
        queue = q, qcap = c, qhead = 0;
    }
    queue[(qhead + qlen++) % qcap] = v;
    viewers[v].queued = 1;
    viewers[v].state = QUEUED;
}

/* --- connections --- */

static int on_the_way_in(const viewer *w) {
    return (w->state == CONNECTING || w->state == HEADERS || w->state == BODY) && !w->connected;
}

static void set_state(viewer *w, int state) {
    int was = on_the_way_in(w);
    if (w->connected && state != BODY) { w->connected = 0; nconnected--; all_connected_at = -1; }
    w->state = state;
    npending += on_the_way_in(w) - was;
}

static void close_fd(viewer *w) {
    if (w->fd >= 0) { epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL); close(w->fd); w->fd = -1; }
    w->in.len = w->line.len = w->data.len = 0;
    w->has_data = w->has_id = 0;
    w->cur_type = 0;
}

/* Remembers the moment every viewer that has not failed is connected. */
static void all_connected_check(double t) {
    if (nviewers && nconnected == nviewers - nfailed && all_connected_at < 0) all_connected_at = t;
}

static void fail(unsigned v, const char *error) {
    viewer *w = &viewers[v];
    close_fd(w);
    snprintf(w->error, sizeof w->error, "%s", error);
    set_state(w, FAILED);
    nfailed++;
    all_connected_check(now());
}

/* As EventSource does after a network error: again after a backoff (0.5-1 s, doubling up to 8 s). */
static void retry(unsigned v, const char *why) {
    viewer *w = &viewers[v];
    close_fd(w);
    snprintf(w->error, sizeof w->error, "%s", why);
    set_state(w, WAITING);
    w->retries++;
    double base = 0.5 * (1u << (w->attempts < 4 ? w->attempts : 4));
    w->attempts++;
    heap_push(now() + base * (1 + (double)rand() / RAND_MAX), v);
}

static void start(unsigned v) {
    viewer *w = &viewers[v];
    w->queued = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { retry(v, strerror(errno)); return; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    w->fd = fd;
    w->chunked = 0, w->chunk_state = CHUNK_SIZE, w->status = 0;
    set_state(w, CONNECTING);
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = v};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS)
        retry(v, strerror(errno));
}

static void send_request(unsigned v) {
    viewer *w = &viewers[v];
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) { retry(v, strerror(err)); return; }
    char request[2048], resume[64] = "";
    if (w->last_id >= 0) snprintf(resume, sizeof resume, "Last-Event-ID: %lld\r\n", w->last_id);
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n%s\r\n",
                     paths[w->path], port, resume);
    /* A few hundred bytes on a fresh connection: the socket buffer takes them at once. */
    if (write(w->fd, request, n) != n) { retry(v, "the request was not sent whole"); return; }
    set_state(w, HEADERS);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = v};
    epoll_ctl(epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

/* --- SSE parsing --- */

static unsigned type_index(const char *name, size_t n) {
    for (unsigned i = 0; i < ntypes; i++)
        if (strlen(types[i]) == n && !memcmp(types[i], name, n)) return i;
    if (ntypes == 256) return 0;
    types[ntypes] = strndup(name, n);
    return ntypes++;
}

/* data's "seq" equals the event's id (the Python viewer parses the JSON; this finds the key). */
static int seq_matches(const buffer *data, long long id) {
    const char *p = data->len ? strstr(data->data, "\"seq\"") : NULL;
    if (!p) return 0;
    p += 5;
    while (*p == ' ') p++;
    if (*p++ != ':') return 0;
    while (*p == ' ') p++;
    char *end;
    long long seq = strtoll(p, &end, 10);
    return end != p && seq == id && (*end == ',' || *end == '}' || *end == ' ');
}

static void dispatch(unsigned v, double t) {
    viewer *w = &viewers[v];
    if (w->has_data) {
        int bad = !w->has_id || !seq_matches(&w->data, w->cur_id);
        w->bad_data += bad;
        records = grow(records, &cap_records, nrecords + 1, sizeof *records);
        records[nrecords++] = (record){v, (uint16_t)w->cur_type, (uint16_t)bad, w->cur_id, t};
        if (w->has_id) w->last_id = w->cur_id;
    }
    w->has_data = w->has_id = 0;
    w->cur_type = 0;
    w->data.len = 0;
}

static void sse_line(unsigned v, char *line, size_t n, double t) {
    viewer *w = &viewers[v];
    if (n && line[n - 1] == '\r') n--;
    if (n == 0) { dispatch(v, t); return; }
    if (line[0] == ':') {
        if (!w->connected && n >= 11 && !memcmp(line, ": connected", 11)) {
            int was = on_the_way_in(w);
            w->connected = 1;
            w->attempts = 0;
            npending -= was;
            nconnected++;
            all_connected_check(t);
        }
        return;
    }
    char *colon = memchr(line, ':', n);
    size_t name = colon ? (size_t)(colon - line) : n;
    char *value = colon ? colon + 1 : line + n;
    if (colon && value < line + n && *value == ' ') value++;
    size_t vlen = line + n - value;
    if (name == 2 && !memcmp(line, "id", 2)) {
        char tmp[32];
        size_t k = vlen < 31 ? vlen : 31;
        memcpy(tmp, value, k);
        tmp[k] = 0;
        w->cur_id = strtoll(tmp, NULL, 10);
        w->has_id = 1;
    } else if (name == 5 && !memcmp(line, "event", 5)) {
        w->cur_type = type_index(value, vlen);
    } else if (name == 4 && !memcmp(line, "data", 4)) {
        if (w->has_data) append(&w->data, "\n", 1);
        append(&w->data, value, vlen);
        w->has_data = 1;
    }
}

static void sse_bytes(unsigned v, const char *s, size_t n, double t) {
    viewer *w = &viewers[v];
    while (n) {
        const char *nl = memchr(s, '\n', n);
        if (!nl) { append(&w->line, s, n); return; }
        size_t k = nl - s;
        if (w->line.len) {
            append(&w->line, s, k);
            sse_line(v, w->line.data, w->line.len, t);
            w->line.len = 0;
        } else {
            sse_line(v, (char *)s, k, t);
        }
        s += k + 1, n -= k + 1;
    }
}

/* The chunked body's payload to the SSE parser; 0, or -1 when the body ended. */
static int body_bytes(unsigned v, const char *s, size_t n, double t) {
    viewer *w = &viewers[v];
    if (!w->chunked) { sse_bytes(v, s, n, t); return 0; }
    while (n) {
        if (w->chunk_state == CHUNK_DATA) {
            size_t k = n < w->chunk_left ? n : w->chunk_left;
            sse_bytes(v, s, k, t);
            s += k, n -= k, w->chunk_left -= k;
            if (!w->chunk_left) w->chunk_state = CHUNK_CRLF, w->in.len = 0;
            continue;
        }
        /* a size line or the CRLF after a chunk: collected in `in` up to its LF */
        const char *nl = memchr(s, '\n', n);
        size_t k = nl ? (size_t)(nl - s) + 1 : n;
        append(&w->in, s, k);
        s += k, n -= k;
        if (!nl) continue;
        if (w->chunk_state == CHUNK_CRLF) {
            w->chunk_state = CHUNK_SIZE;
        } else {
            size_t size = strtoul(w->in.data, NULL, 16);
            if (!size) return -1;
            w->chunk_left = size;
            w->chunk_state = CHUNK_DATA;
        }
        w->in.len = 0;
    }
    return 0;
}

/* The value of header `name` (lower case, with its colon) in `head`, or NULL. */
static const char *header(const char *head, size_t len, const char *name) {
    size_t n = strlen(name);
    for (const char *line = head; line && line < head + len;) {
        if (!strncasecmp(line, name, n)) {
            for (line += n; *line == ' '; line++) {}
            return line;
        }
        line = strstr(line, "\r\n");
        if (line) line += 2;
    }
    return NULL;
}

/* Once the response head is in: the body of a 200, else (with up to 80 bytes of the error's
 * body, which says why) the viewer's end. `closed`: the server closed the connection. */
static void headers(unsigned v, double t, int closed) {
    viewer *w = &viewers[v];
    char *end = strstr(w->in.data, "\r\n\r\n");
    if (!end) return;
    size_t headlen = end - w->in.data;
    char *rest = end + 4;
    size_t restlen = w->in.len - (rest - w->in.data);
    w->status = atoi(w->in.data + 9);
    if (w->status != 200) {
        const char *length = header(w->in.data, headlen, "content-length:");
        size_t want = length ? strtoul(length, NULL, 10) : 0;
        if (!closed && restlen < (want < 80 ? want : 80)) return;
        char error[120];
        snprintf(error, sizeof error, "HTTP %d %.*s", w->status, (int)(restlen < 80 ? restlen : 80), rest);
        fail(v, error);
        return;
    }
    const char *encoding = header(w->in.data, headlen, "transfer-encoding:");
    w->chunked = encoding && !strncasecmp(encoding, "chunked", 7);
    set_state(w, BODY);
    /* what came with the headers, out of `in`: the chunk decoder collects its size lines there */
    char *body = malloc(restlen + 1);
    memcpy(body, rest, restlen);
    w->in.len = 0;
    int ended = body_bytes(v, body, restlen, t) < 0;
    free(body);
    if (ended) retry(v, "the server ended the body");
}

static void readable(unsigned v) {
    static char buf[65536];
    viewer *w = &viewers[v];
    ssize_t n = read(w->fd, buf, sizeof buf);
    double t = now();
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n == 0 && w->state == HEADERS && w->in.len && strstr(w->in.data, "\r\n\r\n")) {
        headers(v, t, 1);  /* an error answer, closed after its body */
        if (w->state == FAILED) return;
    }
    if (n <= 0) {
        /* reset or closed: before the ": connected" comment it is a refusal on the way in, after
         * it the server ended the stream (counted apart: the bench expects none) */
        if (w->connected) w->ends++;
        retry(v, n < 0 ? strerror(errno) : w->state == HEADERS ? "closed before the response headers"
                                                               : "the server closed the stream");
        return;
    }
    if (w->state == HEADERS) {
        append(&w->in, buf, n);
        if (w->in.len > 60000) { fail(v, "response headers too long"); return; }
        headers(v, t, 0);
    } else if (body_bytes(v, buf, n, t) < 0) {
        w->ends++;
        retry(v, "the server ended the body");
    }
}

/* --- commands --- */

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void open_viewers(unsigned count, const char *path) {
    unsigned p = 0;
    while (p < npaths && strcmp(paths[p], path)) p++;
    if (p == npaths) {
        if (npaths == 1024) { reply("error too many paths"); return; }
        paths[npaths++] = strdup(path);
    }
    unsigned first = nviewers;
    viewers = grow(viewers, &cap_viewers, nviewers + count, sizeof *viewers);
    for (unsigned i = 0; i < count; i++) {
        viewer *w = &viewers[nviewers++];
        memset(w, 0, sizeof *w);
        w->fd = -1, w->path = p, w->last_id = -1, w->state = IDLE;
        enqueue(nviewers - 1);
    }
    all_connected_at = -1;
    reply("opened %u %u", first, count);
}

static void status(void) {
    long long min_last = -2;
    for (unsigned v = 0; v < nviewers; v++)
        if (viewers[v].state != FAILED && (min_last == -2 || viewers[v].last_id < min_last)) min_last = viewers[v].last_id;
    unsigned retries = 0, ends = 0;
    for (unsigned v = 0; v < nviewers; v++) retries += viewers[v].retries, ends += viewers[v].ends;
    reply("status opened=%u connected=%u failed=%u min_last=%lld events=%zu retries=%u ends=%u all_at=%.6f now=%.6f",
          nviewers, nconnected, nfailed, min_last == -2 ? -1 : min_last, nrecords, retries, ends,
          all_connected_at, now());
}

static void storm(void) {
    double t = now();
    for (unsigned v = 0; v < nviewers; v++) {
        viewer *w = &viewers[v];
        if (w->state == FAILED || w->state == IDLE) continue;
        close_fd(w);
        w->gen++;  /* a retry timer it had is void */
        w->attempts = 0;
        if (w->state != QUEUED) { set_state(w, IDLE); enqueue(v); }
    }
    all_connected_at = -1;
    reply("stormed %.6f", t);
}

/* The dump, little-endian: "SSELOAD1", u32 viewers, u32 types, each type (u16 length, bytes),
 * u64 records, each record (u32 viewer, u16 type, u16 bad, i64 id, f64 t), then each viewer
 * (i32 status, u8 connected, u8 failed, u32 bad_data, u32 retries, u32 ends, 120 bytes error). */
static void dump(const char *file) {
    FILE *f = fopen(file, "wb");
    if (!f) { reply("error %s", strerror(errno)); return; }
    fwrite("SSELOAD1", 1, 8, f);
    uint32_t n = nviewers, nt = ntypes;
    fwrite(&n, 4, 1, f);
    fwrite(&nt, 4, 1, f);
    for (unsigned i = 0; i < ntypes; i++) {
        uint16_t len = (uint16_t)strlen(types[i]);
        fwrite(&len, 2, 1, f);
        fwrite(types[i], 1, len, f);
    }
    uint64_t nr = nrecords;
    fwrite(&nr, 8, 1, f);
    fwrite(records, sizeof *records, nrecords, f);
    for (unsigned v = 0; v < nviewers; v++) {
        viewer *w = &viewers[v];
        int32_t st = w->status;
        uint8_t flags[2] = {(uint8_t)w->connected, (uint8_t)(w->state == FAILED)};
        uint32_t counts[3] = {w->bad_data, w->retries, w->ends};
        fwrite(&st, 4, 1, f);
        fwrite(flags, 1, 2, f);
        fwrite(counts, 4, 3, f);
        fwrite(w->error, 1, sizeof w->error, f);
    }
    fclose(f);
    reply("dumped %zu", nrecords);
}

static int command(char *line) {
    char arg[1024];
    unsigned count, pending;
    double r;
    if (sscanf(line, "open %u %1023s", &count, arg) == 2) open_viewers(count, arg);
    else if (sscanf(line, "pace %u %lf", &pending, &r) == 2) { max_pending = pending, rate = r; reply("paced"); }
    else if (!strcmp(line, "status")) status();
    else if (!strcmp(line, "storm")) storm();
    else if (sscanf(line, "dump %1023s", arg) == 1) dump(arg);
    else if (!strcmp(line, "quit")) return 0;
    else reply("error unknown command: %s", line);
    return 1;
}

static int read_commands(void) {
    ssize_t n = read(0, stdin_buf + stdin_len, sizeof stdin_buf - 1 - stdin_len);
    if (n <= 0) return 0;  /* the driver is gone */
    stdin_len += n;
    char *nl;
    while ((nl = memchr(stdin_buf, '\n', stdin_len))) {
        *nl = 0;
        if (!command(stdin_buf)) return 0;
        size_t used = nl + 1 - stdin_buf;
        memmove(stdin_buf, nl + 1, stdin_len - used);
        stdin_len -= used;
    }
    return 1;
}

/* Start what pacing allows; the ms until more may start, or -1. */
static int start_queued(void) {
    while (qlen && (!max_pending || npending < max_pending)) {
        double t = now();
        if (rate > 0 && t < next_start) return (int)((next_start - t) * 1000) + 1;
        unsigned v = queue[qhead];
        qhead = (qhead + 1) % qcap, qlen--;
        if (!viewers[v].queued) continue;
        start(v);
        if (rate > 0) next_start = (next_start > t - 1 ? next_start : t) + 1 / rate;
    }
    return -1;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s PORT  (commands on stdin)\n", argv[0]); return 2; }
    port = atoi(argv[1]);
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)getpid());
    types[ntypes++] = "";  /* type 0: an event without `event:` */
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
    epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev);
    struct epoll_event events[1024];
    for (;;) {
        int wait = start_queued();
        while (nheap && heap[0].due <= now()) {
            timer due = heap_pop();
            if (due.gen == viewers[due.viewer].gen && viewers[due.viewer].state == WAITING) enqueue(due.viewer);
        }
        if (qlen && (!max_pending || npending < max_pending) && wait < 0) wait = 0;
        if (nheap) {
            int ms = (int)((heap[0].due - now()) * 1000) + 1;
            if (wait < 0 || ms < wait) wait = ms < 0 ? 0 : ms;
        }
        int n = epoll_wait(epfd, events, 1024, wait);
        for (int i = 0; i < n; i++) {
            unsigned v = events[i].data.u32;
            if (v == UINT32_MAX) {
                if (!read_commands()) return 0;
                continue;
            }
            viewer *w = &viewers[v];
            if (w->state == CONNECTING) send_request(v);
            else if (w->state == HEADERS || w->state == BODY) readable(v);
        }
    }
}
