/* Calls every entry point of baton.h, including every misuse the API
 * checks, from several C threads. Built and run by tests/c_api.rs; .ci/run
 * runs it under valgrind --leak-check=full. Exits 0 when every check
 * passed, 1 at the first failed one (naming it). */
#include "baton.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        checks++;                                                                      \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s (last error: \"%s\")\n", __FILE__, \
                    __LINE__, #cond, baton_last_error());                              \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

#define CHECK_STATUS(call, want)                                                            \
    do {                                                                                    \
        baton_status got_ = (call);                                                         \
        checks++;                                                                           \
        if (got_ != (want)) {                                                               \
            fprintf(stderr, "%s:%d: %s returned %d (%s), want %d (%s); last error: \"%s\"\n", \
                    __FILE__, __LINE__, #call, got_, baton_strerror(got_), (want),          \
                    baton_strerror(want), baton_last_error());                              \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

/* The last error names the call that failed. */
#define CHECK_LAST_ERROR_FROM(name) CHECK(strncmp(baton_last_error(), name ": ", strlen(name) + 2) == 0)

static atomic_long destroyed;

static void destroy_long(void *p) {
    atomic_fetch_add(&destroyed, 1);
    free(p);
}

static long *new_long(long v) {
    long *p = malloc(sizeof *p);
    CHECK(p != NULL);
    *p = v;
    return p;
}

static void test_strerror(void) {
    for (baton_status s = BATON_OK; s <= BATON_ERR_PANIC; s++) {
        const char *name = baton_strerror(s);
        CHECK(name != NULL && strlen(name) > 0);
        CHECK(strcmp(name, "unknown baton_status") != 0);
    }
    CHECK(strcmp(baton_strerror(BATON_OK), "ok") == 0);
    CHECK(strcmp(baton_strerror(-1), "unknown baton_status") == 0);
    CHECK(strcmp(baton_strerror(BATON_ERR_PANIC + 1), "unknown baton_status") == 0);
}

static void *fresh_thread_last_error(void *arg) {
    (void)arg;
    /* No call on this thread has failed yet. */
    return (void *)(strcmp(baton_last_error(), "") == 0 ? (void *)1 : NULL);
}

static void test_last_error_is_per_thread(void) {
    void *ok = NULL;
    CHECK(baton_handles_len(NULL) == 0); /* a failure on this thread */
    CHECK_LAST_ERROR_FROM("baton_handles_len");
    pthread_t t;
    CHECK(pthread_create(&t, NULL, fresh_thread_last_error, NULL) == 0);
    CHECK(pthread_join(t, &ok) == 0);
    CHECK(ok != NULL);
    CHECK_LAST_ERROR_FROM("baton_handles_len"); /* still this thread's */
}

static void test_handles_basic(void) {
    atomic_store(&destroyed, 0);
    baton_handles *m = baton_handles_new(destroy_long);
    CHECK(m != NULL);
    CHECK(baton_handles_len(m) == 0);

    long *a = new_long(1), *b = new_long(2);
    uint64_t ha = baton_handles_insert(m, a);
    uint64_t hb = baton_handles_insert(m, b);
    CHECK(ha != 0 && hb != 0 && ha != hb);
    CHECK(baton_handles_len(m) == 2);

    void *out = NULL;
    CHECK_STATUS(baton_handles_get(m, ha, &out), BATON_OK);
    CHECK(out == a && *(long *)out == 1);

    /* remove handing the pointer back: no destructor */
    CHECK_STATUS(baton_handles_remove(m, ha, &out), BATON_OK);
    CHECK(out == a);
    CHECK(atomic_load(&destroyed) == 0);
    free(a);
    CHECK(baton_handles_len(m) == 1);

    /* stale: get and remove of a removed handle; out untouched */
    out = (void *)0x1;
    CHECK_STATUS(baton_handles_get(m, ha, &out), BATON_ERR_STALE_HANDLE);
    CHECK(out == (void *)0x1);
    CHECK_LAST_ERROR_FROM("baton_handles_get");
    CHECK_STATUS(baton_handles_remove(m, ha, NULL), BATON_ERR_STALE_HANDLE);
    /* the slot is reused by the next insert; the old handle stays stale */
    long *c = new_long(3);
    uint64_t hc = baton_handles_insert(m, c);
    CHECK(hc != 0 && hc != ha);
    CHECK_STATUS(baton_handles_get(m, ha, &out), BATON_ERR_STALE_HANDLE);
    CHECK_STATUS(baton_handles_get(m, hc, &out), BATON_OK);
    CHECK(out == c);

    /* forged and zero handles */
    CHECK_STATUS(baton_handles_get(m, 0, &out), BATON_ERR_INVALID_HANDLE);
    CHECK_STATUS(baton_handles_get(m, hb + 1000000, &out), BATON_ERR_INVALID_HANDLE);
    CHECK_STATUS(baton_handles_remove(m, 0, NULL), BATON_ERR_INVALID_HANDLE);
    CHECK(baton_handles_len(m) == 2);

    /* remove running the destructor */
    CHECK_STATUS(baton_handles_remove(m, hb, NULL), BATON_OK);
    CHECK(atomic_load(&destroyed) == 1);

    /* free runs the destructor on what is left (c) */
    baton_handles_free(m);
    CHECK(atomic_load(&destroyed) == 2);
    baton_handles_free(NULL);
}

static void test_handles_foreign(void) {
    baton_handles *a = baton_handles_new(destroy_long);
    baton_handles *b = baton_handles_new(NULL); /* borrowed pointers: never freed */
    CHECK(a != NULL && b != NULL);
    long *x = new_long(10);
    uint64_t h = baton_handles_insert(a, x);
    CHECK(h != 0);
    void *out = NULL;
    CHECK_STATUS(baton_handles_get(b, h, &out), BATON_ERR_WRONG_MAP);
    CHECK_STATUS(baton_handles_remove(b, h, NULL), BATON_ERR_WRONG_MAP);
    CHECK(baton_handles_len(a) == 1);

    static long borrowed = 5;
    uint64_t hb = baton_handles_insert(b, &borrowed);
    CHECK_STATUS(baton_handles_remove(b, hb, NULL), BATON_OK); /* NULL destructor: nothing freed */
    CHECK(borrowed == 5);

    /* a freed registry's handle never resolves in a later one */
    atomic_store(&destroyed, 0);
    baton_handles_free(a);
    CHECK(atomic_load(&destroyed) == 1);
    baton_handles *c = baton_handles_new(NULL);
    CHECK(c != NULL);
    baton_status s = baton_handles_get(c, h, &out);
    CHECK(s == BATON_ERR_WRONG_MAP || s == BATON_ERR_STALE_HANDLE || s == BATON_ERR_INVALID_HANDLE);
    baton_handles_free(c);
    baton_handles_free(b);
}

static void test_handles_misuse(void) {
    static long v = 1;
    void *out = NULL;
    baton_handles *m = baton_handles_new(NULL);
    CHECK(baton_handles_insert(NULL, &v) == 0);
    CHECK_LAST_ERROR_FROM("baton_handles_insert");
    CHECK(baton_handles_insert(m, NULL) == 0);
    CHECK(strstr(baton_last_error(), "ptr is NULL") != NULL);
    CHECK(baton_handles_len(m) == 0);
    uint64_t h = baton_handles_insert(m, &v);
    CHECK_STATUS(baton_handles_get(NULL, h, &out), BATON_ERR_NULL_POINTER);
    CHECK(strcmp(baton_last_error(), "baton_handles_get: map is NULL") == 0);
    CHECK_STATUS(baton_handles_get(m, h, NULL), BATON_ERR_NULL_POINTER);
    CHECK(strcmp(baton_last_error(), "baton_handles_get: out is NULL") == 0);
    CHECK_STATUS(baton_handles_remove(NULL, h, NULL), BATON_ERR_NULL_POINTER);
    CHECK(baton_handles_len(NULL) == 0);
    CHECK(baton_handles_len(m) == 1); /* the failed calls took nothing */
    baton_handles_free(m);
}

static void test_too_many_maps(void) {
    enum { MAX = 4096 };
    static baton_handles *maps[MAX];
    int n = 0;
    while (n < MAX) {
        baton_handles *m = baton_handles_new(NULL);
        if (m == NULL)
            break;
        maps[n++] = m;
    }
    CHECK(n < MAX && n > 0); /* 4095 tags, some may be held by others */
    CHECK(baton_handles_new(NULL) == NULL);
    CHECK_LAST_ERROR_FROM("baton_handles_new");
    CHECK(strstr(baton_last_error(), "4095") != NULL || strstr(baton_last_error(), "map") != NULL);
    baton_handles_free(maps[--n]);
    baton_handles *again = baton_handles_new(NULL);
    CHECK(again != NULL);
    baton_handles_free(again);
    while (n > 0)
        baton_handles_free(maps[--n]);
}

enum { HANDLE_THREADS = 4, HANDLE_OPS = 5000 };

static void *handles_worker(void *arg) {
    baton_handles *m = arg;
    for (long i = 0; i < HANDLE_OPS; i++) {
        long *p = new_long(i);
        uint64_t h = baton_handles_insert(m, p);
        CHECK(h != 0);
        void *out = NULL;
        CHECK_STATUS(baton_handles_get(m, h, &out), BATON_OK);
        CHECK(out == p && *(long *)out == i);
        if (i % 2 == 0) {
            CHECK_STATUS(baton_handles_remove(m, h, NULL), BATON_OK);
        } else {
            CHECK_STATUS(baton_handles_remove(m, h, &out), BATON_OK);
            CHECK(out == p);
            free(p);
        }
        CHECK_STATUS(baton_handles_get(m, h, &out), BATON_ERR_STALE_HANDLE);
    }
    return NULL;
}

static void test_handles_threads(void) {
    atomic_store(&destroyed, 0);
    baton_handles *m = baton_handles_new(destroy_long);
    pthread_t t[HANDLE_THREADS];
    for (int i = 0; i < HANDLE_THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, handles_worker, m) == 0);
    for (int i = 0; i < HANDLE_THREADS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(baton_handles_len(m) == 0);
    CHECK(atomic_load(&destroyed) == HANDLE_THREADS * HANDLE_OPS / 2);
    baton_handles_free(m);
}

static void test_chan_new(void) {
    baton_chan *rendezvous = baton_chan_new(0, 0);
    baton_chan *bounded = baton_chan_new(8, 0);
    baton_chan *unbounded = baton_chan_new(0, BATON_CHAN_UNBOUNDED);
    CHECK(rendezvous != NULL && bounded != NULL && unbounded != NULL);
    CHECK(baton_chan_new(8, BATON_CHAN_UNBOUNDED) == NULL);
    CHECK_LAST_ERROR_FROM("baton_chan_new");
    CHECK(strstr(baton_last_error(), "capacity 8") != NULL);
    CHECK(baton_chan_new(0, 0x10) == NULL);
    CHECK(strstr(baton_last_error(), "unknown flag bits 0x10") != NULL);
    baton_chan_free(rendezvous);
    baton_chan_free(bounded);
    baton_chan_free(unbounded);
    baton_chan_free(NULL);
}

static void test_chan_copy_and_owned(void) {
    baton_chan *ch = baton_chan_new(4, 0);
    char buf[16];
    size_t len = 99;

    CHECK_STATUS(baton_chan_send(ch, (const uint8_t *)"hello", 5), BATON_OK);
    CHECK_STATUS(baton_chan_recv(ch, (uint8_t *)buf, sizeof buf, &len), BATON_OK);
    CHECK(len == 5 && memcmp(buf, "hello", 5) == 0);

    /* too small: the length is reported and the message kept, first in line */
    CHECK_STATUS(baton_chan_send(ch, (const uint8_t *)"0123456789", 10), BATON_OK);
    CHECK_STATUS(baton_chan_send(ch, (const uint8_t *)"next", 4), BATON_OK);
    CHECK_STATUS(baton_chan_recv(ch, (uint8_t *)buf, 3, &len), BATON_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 10);
    CHECK(strstr(baton_last_error(), "10 bytes") != NULL);
    CHECK_STATUS(baton_chan_try_recv(ch, NULL, 0, &len), BATON_ERR_BUFFER_TOO_SMALL); /* probe */
    CHECK(len == 10);
    CHECK_STATUS(baton_chan_recv_timeout(ch, (uint8_t *)buf, 9, &len, 1000000), BATON_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(baton_chan_recv(ch, (uint8_t *)buf, sizeof buf, &len), BATON_OK);
    CHECK(len == 10 && memcmp(buf, "0123456789", 10) == 0);

    /* owned receive of "next"; a kept message is handed over by an owned receive too */
    uint8_t *owned = NULL;
    CHECK_STATUS(baton_chan_recv_owned(ch, &owned, &len), BATON_OK);
    CHECK(owned != NULL && len == 4 && memcmp(owned, "next", 4) == 0);
    baton_buf_free(owned);
    CHECK_STATUS(baton_chan_send(ch, (const uint8_t *)"big message", 11), BATON_OK);
    CHECK_STATUS(baton_chan_recv(ch, (uint8_t *)buf, 1, &len), BATON_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(baton_chan_try_recv_owned(ch, &owned, &len), BATON_OK);
    CHECK(len == 11 && memcmp(owned, "big message", 11) == 0);
    baton_buf_free(owned);

    /* empty messages: data may be NULL; an owned empty message is NULL */
    CHECK_STATUS(baton_chan_send(ch, NULL, 0), BATON_OK);
    CHECK_STATUS(baton_chan_try_send(ch, (const uint8_t *)"", 0), BATON_OK);
    owned = (uint8_t *)0x1;
    CHECK_STATUS(baton_chan_recv_owned_timeout(ch, &owned, &len, 1000000), BATON_OK);
    CHECK(owned == NULL && len == 0);
    baton_buf_free(NULL);
    CHECK_STATUS(baton_chan_recv(ch, NULL, 0, &len), BATON_OK);
    CHECK(len == 0);

    /* try and timeout variants on an empty / full channel */
    CHECK_STATUS(baton_chan_try_recv(ch, (uint8_t *)buf, sizeof buf, &len), BATON_ERR_EMPTY);
    CHECK_STATUS(baton_chan_try_recv_owned(ch, &owned, &len), BATON_ERR_EMPTY);
    CHECK_STATUS(baton_chan_recv_timeout(ch, (uint8_t *)buf, sizeof buf, &len, 1000000), BATON_ERR_TIMEOUT);
    CHECK_STATUS(baton_chan_recv_owned_timeout(ch, &owned, &len, 0), BATON_ERR_TIMEOUT);
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(baton_chan_try_send(ch, (const uint8_t *)"x", 1), BATON_OK);
    CHECK_STATUS(baton_chan_try_send(ch, (const uint8_t *)"x", 1), BATON_ERR_FULL);
    CHECK_STATUS(baton_chan_send_timeout(ch, (const uint8_t *)"x", 1, 1000000), BATON_ERR_TIMEOUT);
    CHECK_LAST_ERROR_FROM("baton_chan_send_timeout");

    /* close: sends fail, receives drain then fail; closing twice is fine */
    CHECK_STATUS(baton_chan_close(ch), BATON_OK);
    CHECK_STATUS(baton_chan_close(ch), BATON_OK);
    CHECK_STATUS(baton_chan_send(ch, (const uint8_t *)"y", 1), BATON_ERR_CLOSED);
    CHECK_STATUS(baton_chan_try_send(ch, (const uint8_t *)"y", 1), BATON_ERR_CLOSED);
    CHECK_STATUS(baton_chan_send_timeout(ch, (const uint8_t *)"y", 1, 1000), BATON_ERR_CLOSED);
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(baton_chan_recv(ch, (uint8_t *)buf, sizeof buf, &len), BATON_OK);
    /* the last one stays in the channel: baton_chan_free frees it (valgrind checks) */
    baton_chan_free(ch);

    ch = baton_chan_new(1, 0);
    CHECK_STATUS(baton_chan_close(ch), BATON_OK);
    CHECK_STATUS(baton_chan_recv(ch, (uint8_t *)buf, sizeof buf, &len), BATON_ERR_CLOSED);
    CHECK_STATUS(baton_chan_try_recv(ch, (uint8_t *)buf, sizeof buf, &len), BATON_ERR_CLOSED);
    CHECK_STATUS(baton_chan_recv_timeout(ch, (uint8_t *)buf, sizeof buf, &len, 1000), BATON_ERR_CLOSED);
    CHECK_STATUS(baton_chan_recv_owned(ch, &owned, &len), BATON_ERR_CLOSED);
    CHECK_STATUS(baton_chan_try_recv_owned(ch, &owned, &len), BATON_ERR_CLOSED);
    CHECK_STATUS(baton_chan_recv_owned_timeout(ch, &owned, &len, 1000), BATON_ERR_CLOSED);
    baton_chan_free(ch);
}

static void test_chan_misuse(void) {
    baton_chan *ch = baton_chan_new(2, 0);
    uint8_t buf[4], *owned = NULL;
    size_t len = 0;
    const uint8_t *d = (const uint8_t *)"d";
    CHECK_STATUS(baton_chan_send(NULL, d, 1), BATON_ERR_NULL_POINTER);
    CHECK(strcmp(baton_last_error(), "baton_chan_send: ch is NULL") == 0);
    CHECK_STATUS(baton_chan_try_send(NULL, d, 1), BATON_ERR_NULL_POINTER);
    CHECK_STATUS(baton_chan_send_timeout(NULL, d, 1, 1), BATON_ERR_NULL_POINTER);
    CHECK_STATUS(baton_chan_send(ch, NULL, 3), BATON_ERR_INVALID_ARGUMENT);
    CHECK(strstr(baton_last_error(), "data is NULL with len 3") != NULL);
    CHECK_STATUS(baton_chan_try_send(ch, NULL, 1), BATON_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(baton_chan_send_timeout(ch, NULL, 1, 1), BATON_ERR_INVALID_ARGUMENT);

    CHECK_STATUS(baton_chan_send(ch, d, 1), BATON_OK);
    CHECK_STATUS(baton_chan_recv(NULL, buf, 4, &len), BATON_ERR_NULL_POINTER);
    CHECK_STATUS(baton_chan_try_recv(NULL, buf, 4, &len), BATON_ERR_NULL_POINTER);
    CHECK_STATUS(baton_chan_recv_timeout(NULL, buf, 4, &len, 1), BATON_ERR_NULL_POINTER);
    CHECK_STATUS(baton_chan_recv(ch, buf, 4, NULL), BATON_ERR_NULL_POINTER);
    CHECK(strcmp(baton_last_error(), "baton_chan_recv: out_len is NULL") == 0);
    CHECK_STATUS(baton_chan_try_recv(ch, buf, 4, NULL), BATON_ERR_NULL_POINTER);
    CHECK_STATUS(baton_chan_recv_timeout(ch, buf, 4, NULL, 1), BATON_ERR_NULL_POINTER);
    CHECK_STATUS(baton_chan_recv(ch, NULL, 4, &len), BATON_ERR_INVALID_ARGUMENT);
    CHECK(strstr(baton_last_error(), "buf is NULL with cap 4") != NULL);
    CHECK_STATUS(baton_chan_recv_owned(NULL, &owned, &len), BATON_ERR_NULL_POINTER);
    CHECK_STATUS(baton_chan_try_recv_owned(NULL, &owned, &len), BATON_ERR_NULL_POINTER);
    CHECK_STATUS(baton_chan_recv_owned_timeout(NULL, &owned, &len, 1), BATON_ERR_NULL_POINTER);
    CHECK_STATUS(baton_chan_recv_owned(ch, NULL, &len), BATON_ERR_NULL_POINTER);
    CHECK(strcmp(baton_last_error(), "baton_chan_recv_owned: out_buf is NULL") == 0);
    CHECK_STATUS(baton_chan_recv_owned(ch, &owned, NULL), BATON_ERR_NULL_POINTER);
    CHECK_STATUS(baton_chan_try_recv_owned(ch, NULL, &len), BATON_ERR_NULL_POINTER);
    CHECK_STATUS(baton_chan_recv_owned_timeout(ch, &owned, NULL, 1), BATON_ERR_NULL_POINTER);
    CHECK_STATUS(baton_chan_close(NULL), BATON_ERR_NULL_POINTER);
    /* none of the failed receives took the message */
    CHECK_STATUS(baton_chan_try_recv(ch, buf, 4, &len), BATON_OK);
    CHECK(len == 1 && buf[0] == 'd');
    baton_chan_free(ch);
}

enum { PRODUCERS = 3, CONSUMERS = 3, PER_PRODUCER = 2000 };

struct pipe_arg {
    baton_chan *ch;
    long id;
    atomic_long *sum;
    atomic_long *count;
};

static void *producer(void *p) {
    struct pipe_arg *a = p;
    for (long i = 0; i < PER_PRODUCER; i++) {
        long msg[2] = {a->id, i};
        CHECK_STATUS(baton_chan_send(a->ch, (const uint8_t *)msg, sizeof msg), BATON_OK);
    }
    return NULL;
}

static void *consumer(void *p) {
    struct pipe_arg *a = p;
    long last[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        last[i] = -1;
    for (;;) {
        long msg[2];
        size_t len = 0;
        baton_status s;
        if (a->id % 2 == 0) {
            s = baton_chan_recv(a->ch, (uint8_t *)msg, sizeof msg, &len);
        } else {
            uint8_t *owned = NULL;
            s = baton_chan_recv_owned(a->ch, &owned, &len);
            if (s == BATON_OK) {
                CHECK(len == sizeof msg);
                memcpy(msg, owned, sizeof msg);
                baton_buf_free(owned);
            }
        }
        if (s == BATON_ERR_CLOSED)
            return NULL;
        CHECK_STATUS(s, BATON_OK);
        CHECK(len == sizeof msg && msg[0] >= 0 && msg[0] < PRODUCERS);
        CHECK(msg[1] > last[msg[0]]); /* per-producer order */
        last[msg[0]] = msg[1];
        atomic_fetch_add(a->sum, msg[1]);
        atomic_fetch_add(a->count, 1);
    }
}

static void test_chan_threads(size_t capacity, uint32_t flags) {
    baton_chan *ch = baton_chan_new(capacity, flags);
    CHECK(ch != NULL);
    atomic_long sum = 0, count = 0;
    pthread_t p[PRODUCERS], c[CONSUMERS];
    struct pipe_arg pa[PRODUCERS], ca[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++) {
        ca[i] = (struct pipe_arg){ch, i, &sum, &count};
        CHECK(pthread_create(&c[i], NULL, consumer, &ca[i]) == 0);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pa[i] = (struct pipe_arg){ch, i, &sum, &count};
        CHECK(pthread_create(&p[i], NULL, producer, &pa[i]) == 0);
    }
    for (int i = 0; i < PRODUCERS; i++)
        CHECK(pthread_join(p[i], NULL) == 0);
    CHECK_STATUS(baton_chan_close(ch), BATON_OK);
    for (int i = 0; i < CONSUMERS; i++)
        CHECK(pthread_join(c[i], NULL) == 0);
    CHECK(atomic_load(&count) == (long)PRODUCERS * PER_PRODUCER);
    CHECK(atomic_load(&sum) == (long)PRODUCERS * PER_PRODUCER * (PER_PRODUCER - 1) / 2);
    baton_chan_free(ch);
}

int main(void) {
    test_strerror();
    test_last_error_is_per_thread();
    test_handles_basic();
    test_handles_foreign();
    test_handles_misuse();
    test_too_many_maps();
    test_handles_threads();
    test_chan_new();
    test_chan_copy_and_owned();
    test_chan_misuse();
    test_chan_threads(0, 0);
    test_chan_threads(16, 0);
    test_chan_threads(0, BATON_CHAN_UNBOUNDED);
    printf("baton C API test: %d checks passed\n", checks);
    return 0;
}
