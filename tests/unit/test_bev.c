/*
 * test_bev.c: unit tests of bev.c's reader: input reaches the bufferevent's
 * read callback, the bound on buffered input holds and reading resumes once
 * the owner takes input out, end of file and the idle timeout reach the event
 * callback (with BEV_EVENT_READING), and a released reader hands reading
 * back to the bufferevent.
 */
#include <sys/socket.h>

#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bev.h"
#include "unit.h"

struct side {
	struct event_base *base;
	struct bufferevent *bev;
	struct bev_rd *rd;
	int fd; /* the other end */
	int reads;
	short what; /* the last event */
	int drain;  /* the read callback takes everything */
};

/* Count the reads; take the input when asked to. */
static void
side_read(struct bufferevent *bev, void *arg)
{
	struct side *s = arg;

	s->reads++;
	if (s->drain)
		evbuffer_drain(bufferevent_get_input(bev), (size_t)-1);
}

/* Keep the event. */
static void
side_event(struct bufferevent *bev, short what, void *arg)
{
	struct side *s = arg;

	s->what = what;
}

/* A bufferevent on one end of a socket pair, with a reader; reading on. */
static void
side_open(struct side *s)
{
	int sv[2];

	memset(s, 0, sizeof *s);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	evutil_make_socket_nonblocking(sv[0]);
	s->fd = sv[1];
	s->base = event_base_new();
	s->bev = bufferevent_socket_new(s->base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(s->bev, side_read, NULL, side_event, s);
	s->rd = bev_rd_new(s->bev);
	ck_assert_ptr_nonnull(s->rd);
	bev_rd_set(s->rd, 1);
}

/* Free everything. */
static void
side_close(struct side *s)
{
	bev_rd_free(s->rd);
	bufferevent_free(s->bev);
	if (s->fd >= 0)
		close(s->fd);
	event_base_free(s->base);
}

/* Write n bytes of 'x' on the other end. */
static void
side_send(struct side *s, size_t n)
{
	char b[4096];

	memset(b, 'x', sizeof b);
	while (n > 0) {
		size_t k = n < sizeof b ? n : sizeof b;

		ck_assert_int_eq(write(s->fd, b, k), (ssize_t)k);
		n -= k;
	}
}

/* Run the loop until nothing is ready. */
static void
side_turn(struct side *s)
{
	for (int i = 0; i < 8; i++)
		event_base_loop(s->base, EVLOOP_NONBLOCK);
}

START_TEST(test_input_reaches_read_callback)
{
	struct side s;

	side_open(&s);
	side_send(&s, 100);
	side_turn(&s);
	ck_assert_int_eq(s.reads, 1);
	ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_input(s.bev)), 100);
	bev_rd_set(s.rd, 0); /* off: nothing more is read */
	side_send(&s, 10);
	side_turn(&s);
	ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_input(s.bev)), 100);
	bev_rd_set(s.rd, 1);
	side_turn(&s);
	ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_input(s.bev)), 110);
	side_close(&s);
}
END_TEST

START_TEST(test_bound_holds_and_reading_resumes)
{
	struct side s;

	side_open(&s);
	bev_rd_bound(s.rd, 5000);
	side_send(&s, 20000);
	side_turn(&s);
	ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_input(s.bev)), 5000);
	evbuffer_drain(bufferevent_get_input(s.bev), 4000); /* room again */
	side_turn(&s);
	ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_input(s.bev)), 5000);
	s.drain = 1;
	evbuffer_drain(bufferevent_get_input(s.bev), 5000);
	side_turn(&s);
	ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_input(s.bev)), 0);
	ck_assert_int_eq(s.what, 0);
	side_close(&s);
}
END_TEST

START_TEST(test_large_input_in_few_reads)
{
	struct side s;

	side_open(&s);
	s.drain = 1;
	side_send(&s, 16384);
	event_base_loop(s.base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(s.reads, 1); /* up to 16 KiB per callback */
	side_close(&s);
}
END_TEST

START_TEST(test_eof_after_input)
{
	struct side s;

	side_open(&s);
	side_send(&s, 10);
	close(s.fd);
	s.fd = -1;
	side_turn(&s);
	ck_assert_int_eq(s.reads, 1); /* the bytes first */
	ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_input(s.bev)), 10);
	ck_assert_int_eq(s.what, BEV_EVENT_READING | BEV_EVENT_EOF);
	side_close(&s);
}
END_TEST

START_TEST(test_idle_timeout)
{
	struct side s;
	struct timeval tv = { 0, 50 * 1000 };

	side_open(&s);
	bev_rd_timeout(s.rd, &tv);
	event_base_dispatch(s.base); /* ends when the timeout stops reading */
	ck_assert_int_eq(s.what, BEV_EVENT_READING | BEV_EVENT_TIMEOUT);
	ck_assert_int_eq(s.reads, 0);
	side_close(&s);
}
END_TEST

START_TEST(test_release_hands_reading_back)
{
	struct side s;

	side_open(&s);
	bev_rd_release(s.rd);
	s.rd = NULL;
	side_send(&s, 30);
	side_turn(&s);
	ck_assert_int_eq(s.reads, 1);
	ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_input(s.bev)), 30);
	side_close(&s);
}
END_TEST

/* The suite. */
static Suite *
bev_suite(void)
{
	Suite *s = suite_create("bev");

	UNIT_ADD(s, test_input_reaches_read_callback);
	UNIT_ADD(s, test_bound_holds_and_reading_resumes);
	UNIT_ADD(s, test_large_input_in_few_reads);
	UNIT_ADD(s, test_eof_after_input);
	UNIT_ADD(s, test_idle_timeout);
	UNIT_ADD(s, test_release_hands_reading_back);
	return s;
}

UNIT_MAIN(bev_suite)
