/* test_xlate.c: unit tests of xlate.c: every rule type and every checking error. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "xlate.h"

/* Load text as file "t"; the problems ("" when none) in a static buffer. */
static const char *
problems_of(const char *text)
{
	static char out[4096];
	struct xlate_rules *r;
	char *p;

	r = xlate_load_text("t", text, strlen(text), &p);
	if (r != NULL) {
		ck_assert_ptr_null(p);
		xlate_unref(r);
		return "";
	}
	ck_assert_ptr_nonnull(p);
	snprintf(out, sizeof out, "%s", p);
	free(p);
	return out;
}

/* Load text that must be good. */
static struct xlate_rules *
good(const char *text)
{
	char *p;
	struct xlate_rules *r = xlate_load_text("t", text, strlen(text), &p);

	if (r == NULL)
		ck_abort_msg("unexpected problems: %s", p);
	return r;
}

/* Read a file under the source tree. */
static char *
src_file(const char *rel, size_t *len)
{
	const char *dir = getenv("UCGW_SRCDIR");
	char path[1024];
	struct buf b;
	char chunk[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir != NULL ? dir : "..", rel);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	buf_addstr(&b, "");
	return buf_detach(&b, len);
}

START_TEST(test_default_is_shipped_file)
{
	size_t len;
	char *text = src_file("conf/translate.json", &len), *p;
	struct xlate_rules *r = xlate_load(NULL, &p);

	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(text, xlate_default_text);
	xlate_unref(r);
	free(text);
}
END_TEST

START_TEST(test_load_file_and_missing_file)
{
	char path[1024], *p;
	struct xlate_rules *r;
	const char *dir = getenv("UCGW_SRCDIR");

	snprintf(path, sizeof path, "%s/conf/translate.json", dir != NULL ? dir : "..");
	r = xlate_load(path, &p);
	ck_assert_ptr_nonnull(r);
	xlate_unref(r);
	ck_assert_ptr_null(xlate_load("/nonexistent/translate.json", &p));
	ck_assert_str_eq(
	    p, "/nonexistent/translate.json: cannot open: No such file or directory\n");
	free(p);
}
END_TEST

START_TEST(test_phone_to_sip_default_rules)
{
	struct xlate_rules *r = xlate_load(NULL, &(char *){ NULL });
	const char *cause;
	char *sip;

	ck_assert_int_eq(xlate_phone_to_sip(r, "3002", &sip, &cause), 0);
	ck_assert_str_eq(sip, "sip:agent3002@example.com");
	free(sip);
	ck_assert_int_eq(xlate_phone_to_sip(r, "+15551234567", &sip, &cause), 0);
	ck_assert_str_eq(sip, "sip:+15551234567@example.com;user=phone");
	free(sip);
	/* The whole number must match: 11 digits without + fit no rule. */
	ck_assert_int_eq(xlate_phone_to_sip(r, "15551234567", &sip, &cause), -1);
	ck_assert_str_eq(cause, "no address rule matches this phone number");
	ck_assert_int_eq(xlate_phone_to_sip(r, "x3002", &sip, &cause), -1);
	ck_assert_int_eq(xlate_phone_to_sip(r, "", &sip, &cause), -1);
	ck_assert_str_eq(cause, "phoneNumber must be 1 to 64 characters");
	xlate_unref(r);
}
END_TEST

START_TEST(test_rule_order_and_groups)
{
	struct xlate_rules *r =
	    good("{\"addresses\":{\"to_sip\":["
		 "{\"match\":\"(1)([0-9]+)\",\"sip\":\"sip:$2-$1$$@a.example\"},"
		 "{\"match\":\"[0-9]+\",\"sip\":\"sip:other$0@b.example\"}]}}");
	const char *cause;
	char *sip;

	ck_assert_int_eq(xlate_phone_to_sip(r, "1234", &sip, &cause), 0);
	ck_assert_str_eq(sip, "sip:234-1$@a.example");
	free(sip);
	ck_assert_int_eq(xlate_phone_to_sip(r, "234", &sip, &cause), 0);
	ck_assert_str_eq(sip, "sip:other234@b.example");
	free(sip);
	xlate_unref(r);
}
END_TEST

START_TEST(test_directory_wins_both_ways)
{
	struct xlate_rules *r = good("{\"addresses\":{\"directory\":["
				     "{\"phone\":\"3002\",\"sip\":\"sip:LeneA@contoso.com\"}]}}");
	struct xlate_party p;
	const char *cause;
	char *sip;

	ck_assert_int_eq(xlate_phone_to_sip(r, "3002", &sip, &cause), 0);
	ck_assert_str_eq(sip, "sip:LeneA@contoso.com");
	free(sip);
	ck_assert_int_eq(xlate_phone_to_sip(r, "3003", &sip, &cause), 0);
	ck_assert_str_eq(sip, "sip:agent3003@example.com");
	free(sip);
	xlate_sip_to_party(r, "sip:lenea@CONTOSO.com", &p);
	ck_assert_str_eq(p.phoneNumber, "3002");
	ck_assert_str_eq(p.digits, "3002");
	xlate_party_free(&p);
	xlate_unref(r);
}
END_TEST

START_TEST(test_directory_10k)
{
	struct buf b;
	struct xlate_rules *r;
	struct xlate_party p;
	const char *cause;
	char *sip, *probs;

	buf_init(&b);
	buf_addstr(&b, "{\"addresses\":{\"directory\":[");
	for (int i = 0; i < 10000; i++)
		buf_printf(&b, "%s{\"phone\":\"7%05d\",\"sip\":\"sip:user%d@big.example\"}",
		    i ? "," : "", i, i);
	buf_addstr(&b, "]}}");
	r = xlate_load_text("t", b.data, b.len, &probs);
	ck_assert_ptr_nonnull(r);
	for (int i = 0; i < 10000; i += 1111) {
		char phone[16], want[64];

		snprintf(phone, sizeof phone, "7%05d", i);
		snprintf(want, sizeof want, "sip:user%d@big.example", i);
		ck_assert_int_eq(xlate_phone_to_sip(r, phone, &sip, &cause), 0);
		ck_assert_str_eq(sip, want);
		free(sip);
		xlate_sip_to_party(r, want, &p);
		ck_assert_str_eq(p.phoneNumber, phone);
		xlate_party_free(&p);
	}
	xlate_unref(r);
	buf_free(&b);
}
END_TEST

START_TEST(test_sip_to_party)
{
	struct xlate_rules *r = xlate_load(NULL, &(char *){ NULL });
	struct xlate_party p;

	xlate_sip_to_party(r, "sip:agent3002@example.com", &p);
	ck_assert_str_eq(p.digits, "3002");
	ck_assert_str_eq(p.e164Number, "3002");
	ck_assert_str_eq(p.formattedPhoneNumber, "3002");
	ck_assert_str_eq(p.phoneNumber, "3002");
	xlate_party_free(&p);
	xlate_sip_to_party(r, "sip:+15551234567@example.com;user=phone", &p);
	ck_assert_str_eq(p.digits, "15551234567");
	ck_assert_str_eq(p.phoneNumber, "+15551234567");
	xlate_party_free(&p);
	/* No rule: the URI's user part. */
	xlate_sip_to_party(r, "sip:bob@corp.example", &p);
	ck_assert_str_eq(p.phoneNumber, "bob");
	ck_assert_str_eq(p.digits, "");
	xlate_party_free(&p);
	xlate_unref(r);
}
END_TEST

START_TEST(test_participant_templates)
{
	struct xlate_rules *r =
	    good("{\"addresses\":{\"participant\":{"
		 "\"formattedPhoneNumber\":\"$user at ${sip}\",\"e164Number\":\"+1$digits\"}}}");
	struct xlate_party p;

	xlate_sip_to_party(r, "sip:agent42@example.com", &p);
	ck_assert_str_eq(p.formattedPhoneNumber, "agent42 at sip:agent42@example.com");
	ck_assert_str_eq(p.e164Number, "+142");
	ck_assert_str_eq(p.phoneNumber, "42");
	xlate_party_free(&p);
	xlate_unref(r);
}
END_TEST

START_TEST(test_state_maps)
{
	struct xlate_rules *r = xlate_load(NULL, &(char *){ NULL });

	ck_assert_int_eq(
	    xlate_state_map(r, XLATE_K_OUT_INVITATION, "Connecting"), SESSION_INITIATING);
	ck_assert_int_eq(xlate_state_map(r, XLATE_K_IN_INVITATION, "Connecting"), SESSION_ALERTING);
	ck_assert_int_eq(xlate_state_map(r, XLATE_K_IN_INVITATION, "Connected"), SESSION_TALKING);
	ck_assert_int_eq(
	    xlate_state_map(r, XLATE_K_CONVERSATION, "Disconnected"), SESSION_COMPLETED);
	ck_assert_int_eq(xlate_state_map(r, XLATE_K_MESSAGING, "Connecting"), SESSION_NONE);
	ck_assert_int_eq(xlate_state_map(r, XLATE_K_MESSAGING, "Bogus"), SESSION_NONE);
	xlate_unref(r);
	r = good("{\"states\":{\"incoming_invitation\":{\"Connecting\":\"Talking\"},"
		 "\"conversation\":{\"Disconnected\":null}}}");
	ck_assert_int_eq(xlate_state_map(r, XLATE_K_IN_INVITATION, "Connecting"), SESSION_TALKING);
	ck_assert_int_eq(xlate_state_map(r, XLATE_K_IN_INVITATION, "Failed"), SESSION_NONE);
	ck_assert_int_eq(xlate_state_map(r, XLATE_K_CONVERSATION, "Disconnected"), SESSION_NONE);
	ck_assert_int_eq(xlate_names_state_parse(" Talking"), SESSION_TALKING);
	ck_assert_str_eq(xlate_names_state(SESSION_COMPLETED), "Completed");
	xlate_unref(r);
}
END_TEST

START_TEST(test_capabilities)
{
	struct xlate_rules *r = xlate_load(NULL, &(char *){ NULL });
	struct buf b;
	struct jw w;

	ck_assert_uint_eq(xlate_caps(r, SESSION_TALKING), 0x1f);
	ck_assert_uint_eq(xlate_caps(r, SESSION_ALERTING), XLATE_CAP_COMPLETE);
	ck_assert_uint_eq(xlate_caps(r, SESSION_COMPLETED), 0);
	buf_init(&b);
	jw_init(&w, &b);
	xlate_caps_write(r, SESSION_TALKING, &w);
	ck_assert_str_eq(b.data,
	    "[\"Complete\",\"AttachUserData\",\"DeleteUserData\",\"UpdateUserData\","
	    "\"SendMessage\"]");
	xlate_unref(r);
	r = good("{\"capabilities\":{\"Talking\":[\"SendMessage\",\"Complete\"]}}");
	buf_reset(&b);
	jw_init(&w, &b);
	xlate_caps_write(r, SESSION_TALKING, &w);
	ck_assert_str_eq(b.data, "[\"SendMessage\",\"Complete\"]");
	ck_assert_uint_eq(xlate_caps(r, SESSION_TALKING), XLATE_CAP_SEND | XLATE_CAP_COMPLETE);
	ck_assert_uint_eq(xlate_names_cap_parse("UpdateUserData"), XLATE_CAP_UPDATE);
	ck_assert_str_eq(xlate_names_cap(XLATE_CAP_DELETE), "DeleteUserData");
	buf_free(&b);
	xlate_unref(r);
}
END_TEST

/* A session like the one of the published samples. */
static void
sample_session(struct xlate_session *s, struct json_doc **doc)
{
	static const char *const remote[] = { "sip:agent3002@example.com" };
	struct json_error e;

	memset(s, 0, sizeof *s);
	s->id = "00S4UMMDT8AHN1VL807GK2LAES000002";
	s->uri_base = "http://hpe-voicevm-64.genesyslab.com:8090/api/v2";
	s->state = SESSION_TALKING;
	s->remote = remote;
	s->nremote = 1;
	*doc = json_parse("{\"favColor\":\"blue\"}", 19, NULL, &e);
	s->user_data = json_root(*doc);
}

START_TEST(test_notify_state_matches_sample)
{
	struct xlate_rules *r = xlate_load(NULL, &(char *){ NULL });
	struct xlate_session s;
	struct json_doc *doc;
	struct buf b;

	sample_session(&s, &doc);
	buf_init(&b);
	xlate_notify_state(r, &s, "StatusChange", &b);
	ck_assert_str_eq(b.data,
	    "{\"messageType\":\"IMSessionStateChangeMessage\","
	    "\"notificationType\":\"StatusChange\",\"imSession\":{\"state\":\"Talking\","
	    "\"userData\":{\"favColor\":\"blue\"},\"id\":\"00S4UMMDT8AHN1VL807GK2LAES000002\","
	    "\"uri\":\"http://hpe-voicevm-64.genesyslab.com:8090/api/v2/im-sessions/"
	    "00S4UMMDT8AHN1VL807GK2LAES000002\",\"path\":\"/im-sessions/"
	    "00S4UMMDT8AHN1VL807GK2LAES000002\",\"participants\":[{\"digits\":\"3002\","
	    "\"e164Number\":\"3002\",\"formattedPhoneNumber\":\"3002\",\"phoneNumber\":\"3002\"}],"
	    "\"capabilities\":[\"Complete\",\"AttachUserData\",\"DeleteUserData\","
	    "\"UpdateUserData\",\"SendMessage\"]}}");
	/* Completed: no capabilities; the failure reason as an extra field. */
	s.state = SESSION_COMPLETED;
	s.user_data = NULL;
	s.var[XV_REASON] = "Your invitation was declined.";
	buf_reset(&b);
	xlate_notify_state(r, &s, "StatusChange", &b);
	ck_assert_ptr_nonnull(strstr(b.data,
	    "\"capabilities\":[]},\"reason\":\"Your invitation "
	    "was declined.\"}"));
	ck_assert_ptr_null(strstr(b.data, "userData"));
	/* AttachedDataChanged has no reason field by default. */
	buf_reset(&b);
	xlate_notify_state(r, &s, "AttachedDataChanged", &b);
	ck_assert_ptr_null(strstr(b.data, "reason"));
	buf_free(&b);
	json_doc_free(doc);
	xlate_unref(r);
}
END_TEST

START_TEST(test_notify_message_and_extra_fields)
{
	struct xlate_rules *r =
	    good("{\"notifications\":{\"NewMessage\":{"
		 "\"sender\":\"$sender_phone\",\"when\":\"at ${timestamp}\",\"via\":\"ucgw\"},"
		 "\"StatusChange\":{}}}");
	struct xlate_session s;
	struct json_doc *doc;
	struct buf b;

	sample_session(&s, &doc);
	buf_init(&b);
	xlate_notify_message(r, &s, "Hello! This is my first message.", &b);
	ck_assert_str_eq(b.data,
	    "{\"messageType\":\"IMLogUpdateMessage\",\"notificationType\":"
	    "\"NewMessage\",\"imSessionPath\":\"/im-sessions/00S4UMMDT8AHN1VL807GK2LAES000002\","
	    "\"message\":\"Hello! This is my first message.\",\"via\":\"ucgw\"}");
	s.var[XV_SENDER_PHONE] = "3002";
	s.var[XV_TIMESTAMP] = "2015-01-01T10:00:00Z";
	buf_reset(&b);
	xlate_notify_message(r, &s, "x", &b);
	ck_assert_ptr_nonnull(strstr(b.data,
	    "\"message\":\"x\",\"sender\":\"3002\","
	    "\"when\":\"at 2015-01-01T10:00:00Z\",\"via\":\"ucgw\"}"));
	/* StatusChange emptied: no reason even when one is known. */
	s.var[XV_REASON] = "gone";
	buf_reset(&b);
	xlate_notify_state(r, &s, "StatusChange", &b);
	ck_assert_ptr_null(strstr(b.data, "reason"));
	buf_free(&b);
	json_doc_free(doc);
	xlate_unref(r);
}
END_TEST

START_TEST(test_text_out_policy)
{
	struct xlate_rules *r = good("{\"text\":{\"max_length\":3,\"over_max\":\"refuse\"}}");
	struct xlate_parts parts;
	const char *cause;

	ck_assert_int_eq(xlate_text_out(r, "abc\r\n", &parts, &cause), XLATE_TEXT_OK);
	ck_assert_uint_eq(parts.n, 1);
	ck_assert_str_eq(parts.v[0], "abc");
	xlate_text_parts_free(&parts);
	ck_assert_int_eq(xlate_text_out(r, "abcd", &parts, &cause), XLATE_TEXT_REFUSE);
	ck_assert_str_eq(cause, "message text is longer than the maximum length");
	xlate_unref(r);
	r = good("{\"text\":{\"max_length\":2,\"over_max\":\"split\",\"trim_newlines\":false}}");
	ck_assert_int_eq(xlate_text_out(r, "h\xc3\xa9llo\n", &parts, &cause), XLATE_TEXT_OK);
	ck_assert_uint_eq(parts.n, 3);
	ck_assert_str_eq(parts.v[0], "h\xc3\xa9");
	ck_assert_str_eq(parts.v[1], "ll");
	ck_assert_str_eq(parts.v[2], "o\n");
	xlate_text_parts_free(&parts);
	xlate_unref(r);
}
END_TEST

START_TEST(test_text_in_html)
{
	struct xlate_rules *r = xlate_load(NULL, &(char *){ NULL });
	const char *html = "<span style=\"font-size:10pt\">a &amp; b&lt;c&#233;<br/>d&#x41;</span>"
			   "&bogus;\r\n";
	char *t = xlate_text_in(r, html, strlen(html), 1, NULL);

	ck_assert_str_eq(t,
	    "a & b<c\xc3\xa9\nd"
	    "A&bogus;");
	free(t);
	html = "<STYLE type=\"text/css\">p{color:red}</style><p>x</p><script>a<b</script>y<style";
	t = xlate_text_in(r, html, strlen(html), 1, NULL);
	ck_assert_str_eq(t, "x\ny");
	free(t);
	/* Found by fuzzing: a '<' at the very end of a buffer that is not NUL-terminated. */
	{
		char *two = xmalloc(2); /* exactly "a<": ASan sees any read past it */

		memcpy(two, "a<", 2);
		t = xlate_text_in(r, two, 2, 1, NULL);
		ck_assert_str_eq(t, "a<"); /* a '<' that starts no tag is text */
		free(t);
		free(two);
	}
	t = xlate_text_in(r, "Hi Tosh\r\n", 9, 0, NULL);
	ck_assert_str_eq(t, "Hi Tosh");
	free(t);
	xlate_unref(r);
	r = good("{\"text\":{\"html_to_plain\":false,\"trim_newlines\":false}}");
	t = xlate_text_in(r, "<b>x</b>\n", 9, 1, NULL);
	ck_assert_str_eq(t, "<b>x</b>\n");
	free(t);
	xlate_unref(r);
}
END_TEST

/* The default rules reduce html to want (html need not be NUL-terminated). */
static void
reduces_to(const char *html, const char *want)
{
	struct xlate_rules *r = xlate_load(NULL, &(char *){ NULL });
	size_t len = strlen(html);
	char *copy = xmalloc(len > 0 ? len : 1), *t; /* exactly len: ASan sees a read past it */

	memcpy(copy, html, len);
	t = xlate_text_in(r, copy, len, 1, NULL);
	ck_assert_msg(strcmp(t, want) == 0, "%s -> \"%s\", want \"%s\"", html, t, want);
	free(t);
	free(copy);
	xlate_unref(r);
}

/* The HTML cases that were datauri.c's (its reduction is gone) and the edges. */
START_TEST(test_html_reduction)
{
	/* what a Skype for Business desktop sends (proto/ucwa-events/x5) */
	reduces_to("<span style=\"font-size:10pt\">Fish &amp; chips<br>2 &lt; 3&#33;</span>",
	    "Fish & chips\n2 < 3!");
	reduces_to("<b>bold</b>", "bold");
	/* line breaks: <br> in all forms, ends of <p>/<div>, starts after text */
	reduces_to("a<br>b<BR/>c<br />d<br\t>e", "a\nb\nc\nd\ne");
	reduces_to("<p>one</p><p>two</p>", "one\ntwo");
	reduces_to("<div>one</div><div>two</div>", "one\ntwo");
	reduces_to("a<p>b</p>c<div class=x>d</div>", "a\nb\nc\nd");
	reduces_to("<p><p>x", "x");
	/* names are whole: no break for these */
	reduces_to("a<bra>b</pre>c<param>d</divx>e<pre>f", "abcdef");
	/* entities: named, decimal, hex; anything else stays text */
	reduces_to("&lt;&gt;&amp;&quot;&apos;&nbsp;|&#65;&#x42;&#X43;&#233;&#x1F600;",
	    "<>&\"' |ABC\xc3\xa9\xf0\x9f\x98\x80");
	reduces_to("&bogus; &#; &#x; &# 65; &#+65; &#x0x41; &#0; &#xD800; &#x110000; &#65",
	    "&bogus; &#; &#x; &# 65; &#+65; &#x0x41; &#0; &#xD800; &#x110000; &#65");
	reduces_to("&#99999999999999999999;", "&#99999999999999999999;");
	reduces_to("fish & chips &", "fish & chips &");
	/* '<' that starts no tag is text */
	reduces_to("1 < 2 <3 <", "1 < 2 <3 <");
	/* quoted '>' inside a tag, comments, hidden elements, unterminated markup */
	reduces_to("<span title=\"a>b\" x='>'>ok</span>", "ok");
	reduces_to("a<!-- <b>x</b> -->b<!-- open", "ab");
	reduces_to("<style>p>q{}</style>x<script type=\"t\">if (a<b) f();</SCRIPT >y", "xy");
	reduces_to("<stylex>a</stylex>", "a");
	reduces_to("x<script>never closed", "x");
	reduces_to("x<span", "x");
	reduces_to("x<!-", "x");
	reduces_to("x&", "x&");
	reduces_to("x&#", "x&#");
	reduces_to("x&#x4", "x&#x4");
	reduces_to("", "");
}
END_TEST

/* text.html_to_plain and text.trim_newlines decide, each on its own. */
START_TEST(test_text_in_policy)
{
	const char *html = "<span style=\"font-size:10pt\">Fish &amp; chips<br>ok</span>\r\n";
	struct {
		const char *rules, *html_out, *plain_out, *server_out;
	} cases[] = {
		{ "{}", "Fish & chips\nok", "a\r\nb", "Fish & chips (server)\r\nok" },
		{ "{\"text\":{\"html_to_plain\":false}}",
		    "<span style=\"font-size:10pt\">Fish &amp; chips<br>ok</span>", "a\r\nb",
		    "<span style=\"font-size:10pt\">Fish &amp; chips<br>ok</span>" },
		{ "{\"text\":{\"trim_newlines\":false}}", "Fish & chips\nok\r\n", "a\r\nb\r\n",
		    "Fish & chips (server)\r\nok\r\n" },
		{ "{\"text\":{\"html_to_plain\":false,\"trim_newlines\":false}}", html,
		    "a\r\nb\r\n", html },
	};

	for (size_t i = 0; i < nitems(cases); i++) {
		struct xlate_rules *r = good(cases[i].rules);
		char *t = xlate_text_in(r, html, strlen(html), 1, NULL);

		ck_assert_msg(
		    strcmp(t, cases[i].html_out) == 0, "%s: html -> \"%s\"", cases[i].rules, t);
		free(t);
		/* plain text is never reduced, whatever it looks like */
		t = xlate_text_in(r, "a\r\nb\r\n", 6, 0, NULL);
		ck_assert_msg(
		    strcmp(t, cases[i].plain_out) == 0, "%s: plain -> \"%s\"", cases[i].rules, t);
		free(t);
		t = xlate_text_in(r, "<b>x</b> &amp;", 14, 0, NULL);
		ck_assert_str_eq(t, "<b>x</b> &amp;");
		free(t);
		/* with the server's plain rendition: that one when plain is wanted */
		t = xlate_text_in(r, html, strlen(html), 1, "Fish & chips (server)\r\nok\r\n");
		ck_assert_msg(strcmp(t, cases[i].server_out) == 0, "%s: html+plain -> \"%s\"",
		    cases[i].rules, t);
		free(t);
		xlate_unref(r);
	}
}
END_TEST

/* Only the variables a template names are worth working out. */
START_TEST(test_uses_var)
{
	struct xlate_rules *d = good("{}");
	struct xlate_rules *r =
	    good("{\"notifications\":{\"NewMessage\":{\"from\":\"${sender_phone}\"}},"
		 "\"text\":{\"undelivered\":null}}");

	ck_assert(!xlate_uses_var(d, XV_SENDER_PHONE));
	ck_assert(xlate_uses_var(d, XV_TEXT));	 /* the built-in notice: "[not delivered] $text" */
	ck_assert(xlate_uses_var(d, XV_REASON)); /* StatusChange: {"reason": "$reason"} */
	ck_assert(xlate_uses_var(r, XV_SENDER_PHONE));
	ck_assert(!xlate_uses_var(r, XV_TEXT));
	xlate_unref(d);
	xlate_unref(r);
}
END_TEST

START_TEST(test_undelivered_notice)
{
	struct xlate_rules *r =
	    good("{\"text\":{\"undelivered\":\"Not sent ($reason_code): $text\"}}");
	struct xlate_session s = { .id = "X", .state = SESSION_TALKING };
	char *t;

	s.var[XV_TEXT] = "hi";
	t = xlate_text_undelivered(r, &s);
	ck_assert_str_eq(t, "Not sent (): hi");
	free(t);
	s.var[XV_REASON_CODE] = "RemoteFailure/Timeout";
	t = xlate_text_undelivered(r, &s);
	ck_assert_str_eq(t, "Not sent (RemoteFailure/Timeout): hi");
	free(t);
	xlate_unref(r);
	r = good("{\"text\":{\"undelivered\":null}}");
	ck_assert_ptr_null(xlate_text_undelivered(r, &s));
	xlate_unref(r);
	ck_assert_str_eq(problems_of("{\"text\":{\"undelivered\":\"$txt\"}}"),
	    "t:1:24: \"$txt\": unknown variable \"$txt\"\n");
}
END_TEST

START_TEST(test_incoming_policy)
{
	struct xlate_rules *r = xlate_load(NULL, &(char *){ NULL });

	ck_assert_int_eq(xlate_incoming(r, "sip:a@b", 0), XLATE_IN_ACCEPT);
	ck_assert_int_eq(xlate_incoming(r, "sip:a@b", 1), XLATE_IN_DECLINE);
	xlate_unref(r);
	r = good("{\"incoming\":{\"accept\":\"matching\",\"from\":[\"sip:.*@corp\\\\.example\"],"
		 "\"when_busy\":\"ignore\"}}");
	ck_assert_int_eq(xlate_incoming(r, "sip:Bob@CORP.example", 0), XLATE_IN_ACCEPT);
	ck_assert_int_eq(xlate_incoming(r, "sip:bob@corp.example.evil", 0), XLATE_IN_DECLINE);
	ck_assert_int_eq(xlate_incoming(r, "sip:bob@corp.example", 1), XLATE_IN_IGNORE);
	xlate_unref(r);
	r = good("{\"incoming\":{\"accept\":\"none\"}}");
	ck_assert_int_eq(xlate_incoming(r, "sip:bob@corp.example", 0), XLATE_IN_DECLINE);
	xlate_unref(r);
}
END_TEST

START_TEST(test_subject_from_userdata)
{
	struct xlate_rules *r = good("{\"subject\":{\"keys\":[\"caseId\",\"topic\"],"
				     "\"separator\":\" - \",\"max_length\":8}}");
	struct json_error e;
	static const char t1[] = "{\"topic\":\"billing\",\"caseId\":42,\"x\":\"y\"}";
	struct json_doc *d = json_parse(t1, strlen(t1), NULL, &e);
	struct json_doc *d2 = json_parse("{\"x\":\"y\"}", 9, NULL, &e);
	char *s;

	s = xlate_subject(r, json_root(d));
	ck_assert_str_eq(s, "42 - bil");
	free(s);
	ck_assert_ptr_null(xlate_subject(r, json_root(d2)));
	ck_assert_ptr_null(xlate_subject(r, NULL));
	xlate_unref(r);
	r = xlate_load(NULL, &(char *){ NULL });
	ck_assert_ptr_null(xlate_subject(r, json_root(d)));
	xlate_unref(r);
	json_doc_free(d);
	json_doc_free(d2);
}
END_TEST

START_TEST(test_current_swap_keeps_old_alive)
{
	struct xlate_rules *a = xlate_load(NULL, &(char *){ NULL });
	struct xlate_rules *b =
	    good("{\"addresses\":{\"to_sip\":[{\"match\":\".*\",\"sip\":\"sip:x@y\"}]}}");
	struct xlate_rules *held;
	const char *cause;
	char *sip;

	xlate_set_current(a);
	xlate_unref(a);
	held = xlate_ref(xlate_current()); /* a running conversation */
	xlate_set_current(b);
	xlate_unref(b);
	ck_assert_int_eq(xlate_phone_to_sip(held, "3002", &sip, &cause), 0);
	ck_assert_str_eq(sip, "sip:agent3002@example.com");
	free(sip);
	ck_assert_int_eq(xlate_phone_to_sip(xlate_current(), "3002", &sip, &cause), 0);
	ck_assert_str_eq(sip, "sip:x@y");
	free(sip);
	xlate_unref(held);
	xlate_set_current(NULL);
}
END_TEST

/* ---- checking: every problem with its exact position ---- */

START_TEST(test_check_json_error)
{
	ck_assert_str_eq(problems_of("{\n  \"text\": {\n    \"max_length\": 10,\n  }\n}\n"),
	    "t:4:4: parse error: invalid object key (must be a string)\n");
}
END_TEST

START_TEST(test_check_unknown_keys)
{
	ck_assert_str_eq(problems_of("{\n  \"txet\": {},\n  \"text\": { \"max_lenght\": 5 }\n}"),
	    "t:2:3: unknown key \"txet\" in the translation file\n"
	    "t:3:13: unknown key \"max_lenght\" in text\n");
}
END_TEST

START_TEST(test_check_wrong_types_and_ranges)
{
	ck_assert_str_eq(problems_of("{\n \"text\": {\n  \"max_length\": \"10\",\n"
				     "  \"html_to_plain\": 1,\n  \"over_max\": \"drop\"\n },\n "
				     "\"subject\": {\"max_length\": 251}\n}"),
	    "t:3:17: max_length: expected integer, found string\n"
	    "t:4:20: html_to_plain: expected boolean, found integer\n"
	    "t:5:15: over_max: unknown value \"drop\"\n"
	    "t:7:28: max_length: 251 is out of range (1 to 250)\n");
}
END_TEST

START_TEST(test_check_bad_regex)
{
	char want[512], msg[128];
	regex_t re;
	int rc = regcomp(&re, "([0-9]", REG_EXTENDED);

	regerror(rc, &re, msg, sizeof msg);
	snprintf(want, sizeof want, "t:3:14: bad regular expression \"([0-9]\": %s\n", msg);
	ck_assert_str_eq(
	    problems_of("{\"addresses\": {\n \"to_sip\": [\n  { \"match\": \"([0-9]\", "
			"\"sip\": \"sip:$1@x\" }\n ]\n}}"),
	    want);
}
END_TEST

START_TEST(test_check_templates)
{
	ck_assert_str_eq(
	    problems_of(
		"{\n\"addresses\": {\"to_sip\": [\n"
		"{\"match\": \"([0-9]+)\", \"sip\": \"sip:$2@x\"}],\n"
		"\"to_phone\": [{\"match\": \"sip:.*\", \"phone\": \"$number\"}],\n"
		"\"participant\": {\"digits\": \"$1\", \"phoneNumber\": \"${numbr}\", "
		"\"e164Number\": \"$\"}},\n"
		"\"notifications\": {\"StatusChange\": {\"why\": \"$reason ($reasonCode)\"}}\n}"),
	    "t:3:30: \"$2\": the regular expression has 1 group\n"
	    "t:4:43: \"$number\": unknown variable \"$number\"\n"
	    "t:5:27: \"$1\": no regular expression groups here\n"
	    "t:5:48: \"${numbr}\": unknown variable \"$numbr\"\n"
	    "t:5:74: \"$\": \"$\" must start $name, ${name}, $1..$9 or $$\n"
	    "t:6:43: \"$reason ($reasonCode)\": unknown variable \"$reasonCode\"\n");
}
END_TEST

START_TEST(test_check_unreachable_rules)
{
	ck_assert_str_eq(problems_of("{\"addresses\": {\n\"to_sip\": [\n"
				     "  {\"match\": \"1([0-9]+)\", \"sip\": \"sip:$1@a\"},\n"
				     "  {\"match\": \"1([0-9]+)\", \"sip\": \"sip:$1@b\"},\n"
				     "  {\"match\": \"^(.*)$\", \"sip\": \"sip:$1@c\"},\n"
				     "  {\"match\": \"2\", \"sip\": \"sip:2@d\"}\n],\n"
				     "\"to_phone\": [{\"match\": \".+\", \"phone\": \"x\"}, "
				     "{\"match\": \"sip:.*\", \"phone\": \"y\"}]\n}}"),
	    "t:4:13: unreachable to_sip rule: the rule at 3:13 has the same pattern\n"
	    "t:6:13: unreachable to_sip rule: the rule at 5:13 matches everything\n"
	    "t:8:55: unreachable to_phone rule: the rule at 8:24 matches everything\n");
}
END_TEST

START_TEST(test_check_directory)
{
	ck_assert_str_eq(
	    problems_of("{\"addresses\": {\"directory\": [\n"
			"  {\"phone\": \"3002\", \"sip\": \"sip:a@x\"},\n"
			"  {\"phone\": \"3003\", \"sip\": \"sip:A@X\"},\n"
			"  {\"phone\": \"3002\", \"sip\": \"sip:c@x\"},\n"
			"  {\"phone\": \"3004\", \"sip\": \"c@x\", \"name\": \"C\"}\n]}}"),
	    "t:3:3: duplicate directory sip \"sip:A@X\" (first at 2:3)\n"
	    "t:4:3: duplicate directory phone \"3002\" (first at 2:3)\n"
	    "t:5:3: directory entry needs \"phone\" (a non-empty string) and \"sip\" (a sip: URI)\n"
	    "t:5:35: unknown key \"name\" in directory entry\n");
}
END_TEST

START_TEST(test_check_directory_shapes)
{
	/* Entries of the usual shape take a short cut; every other shape gets the
	 * full checks, with the same problems as before the short cut existed. */
	ck_assert_str_eq(
	    problems_of("{\"addresses\": {\"directory\": [\n"
			"  {\"sip\": \"sip:d@x\", \"phone\": \"3005\"},\n"
			"  {\"phone\": \"3006\", \"phone\": \"3007\", \"sip\": \"sip:e@x\"},\n"
			"  {\"phone\": 3008, \"sip\": \"sip:f@x\"},\n"
			"  {\"phone\": \"3007\", \"sip\": \"sip:G@x\"},\n"
			"  {\"phone\": \"3009\", \"sip\": \"sip:g@X\", \"sip\": \"sip:h@x\"},\n"
			"  {\"phone\": \"3010\", \"sip\": \"sip:h@x\"},\n"
			"  {\"phone\": \"\", \"sip\": \"sip:i@x\"},\n"
			"  {\"phone\": \"3011\"},\n"
			"  [],\n"
			"  {\"phone\": \"3012\", \"sip\": \"sip:D@X\"},\n"
			"  {\"phone\": \"3005\", \"sip\": \"sip:j@x\"},\n"
			"  {\"phone\": \"3013\", \"sip\": \"sip:k@x\", \"sip\": 1}\n"
			"]}}"),
	    "t:3:21: duplicate key \"phone\" (first at 3:4)\n"
	    "t:4:3: directory entry needs \"phone\" (a non-empty string) and \"sip\" (a sip: URI)\n"
	    "t:5:3: duplicate directory phone \"3007\" (first at 3:3)\n"
	    "t:6:39: duplicate key \"sip\" (first at 6:21)\n"
	    "t:7:3: duplicate directory sip \"sip:h@x\" (first at 6:3)\n"
	    "t:8:3: directory entry needs \"phone\" (a non-empty string) and \"sip\" (a sip: URI)\n"
	    "t:9:3: directory entry needs \"phone\" (a non-empty string) and \"sip\" (a sip: URI)\n"
	    "t:10:3: directory entry: expected object, found array\n"
	    "t:11:3: duplicate directory sip \"sip:D@X\" (first at 2:3)\n"
	    "t:12:3: duplicate directory phone \"3005\" (first at 2:3)\n"
	    "t:13:3: directory entry needs \"phone\" (a non-empty string) and \"sip\" (a sip: "
	    "URI)\n"
	    "t:13:39: duplicate key \"sip\" (first at 13:21)\n");
}
END_TEST

START_TEST(test_directory_keys_in_any_order_and_case)
{
	struct xlate_rules *r = good("{\"addresses\":{\"directory\":["
				     "{\"sip\":\"sip:Mixed.Case@Contoso.com\",\"phone\":\"4001\"},"
				     "{\"phone\":\"4002\",\"sip\":\"sip:lower@contoso.com\"}]}}");
	struct xlate_party p;
	const char *cause;
	char *sip;

	ck_assert_int_eq(xlate_phone_to_sip(r, "4001", &sip, &cause), 0);
	ck_assert_str_eq(sip, "sip:Mixed.Case@Contoso.com");
	free(sip);
	ck_assert_int_eq(xlate_phone_to_sip(r, "4002", &sip, &cause), 0);
	ck_assert_str_eq(sip, "sip:lower@contoso.com");
	free(sip);
	xlate_sip_to_party(r, "sip:mixed.case@CONTOSO.COM", &p);
	ck_assert_str_eq(p.phoneNumber, "4001");
	xlate_party_free(&p);
	xlate_sip_to_party(r, "sip:LOWER@contoso.com", &p);
	ck_assert_str_eq(p.phoneNumber, "4002");
	xlate_party_free(&p);
	xlate_unref(r);
}
END_TEST

START_TEST(test_check_states_caps_notifications)
{
	ck_assert_str_eq(problems_of("{\n\"states\": {\"messaging\": {\"Conected\": \"Talking\", "
				     "\"Connected\": \"talking\"}, \"chat\": {}},\n"
				     "\"capabilities\": {\"Talking\": [\"Complete\", \"Answer\", "
				     "\"Complete\"], \"Ringing\": []},\n"
				     "\"notifications\": {\"NewMessage\": {\"message\": \"x\", "
				     "\"n\": 1}, \"Other\": {}},\n"
				     "\"incoming\": {\"accept\": \"some\"}\n}"),
	    "t:2:26: unknown UCWA messaging state \"Conected\"\n"
	    "t:2:62: expected a GWS state (Initiating, Alerting, Talking, Completed) or null\n"
	    "t:2:74: unknown key \"chat\" in states\n"
	    "t:3:42: unknown capability (expected SendMessage, AttachUserData, UpdateUserData, "
	    "DeleteUserData or Complete)\n"
	    "t:3:52: capability \"Complete\" listed twice\n"
	    "t:3:65: unknown key \"Ringing\" in capabilities\n"
	    "t:4:34: \"message\" is a fixed field of NewMessage\n"
	    "t:4:55: notification field: expected string, found integer\n"
	    "t:4:59: unknown key \"Other\" in notifications\n"
	    "t:5:24: accept: unknown value \"some\"\n");
}
END_TEST

START_TEST(test_check_duplicate_keys)
{
	ck_assert_str_eq(
	    problems_of(
		"{\"text\": {\"max_length\": 5},\n"
		" \"states\": {\"messaging\": {\"Connected\": \"Talking\", \"Connected\": null}},\n"
		" \"text\": {}}"),
	    "t:2:51: duplicate key \"Connected\" (first at 2:27)\n"
	    "t:3:2: duplicate key \"text\" (first at 1:2)\n");
}
END_TEST

START_TEST(test_check_costly_regex)
{
	/* glibc would copy the tree once per repetition: 2^30 copies. */
	ck_assert_str_eq(problems_of("{\"incoming\": {\"from\": [\"sip:x\",\n"
				     "  "
				     "\"((((((((((((((((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)"
				     "+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+\"]}}"),
	    "t:2:3: regular expression \"((((((((((((((((((((((((((((((a+)+)+)+)+...\" refused: "
	    "too many repetitions (stacked or nested + or {m,n})\n");
	ck_assert_str_eq(
	    problems_of("{\"incoming\": {\"from\": [\"x+++++++++++++++++++++++++++++++\"]}}"),
	    "t:1:24: regular expression \"x+++++++++++++++++++++++++++++++\" refused: "
	    "too many repetitions (stacked or nested + or {m,n})\n");
	ck_assert_str_eq(problems_of("{\"incoming\": {\"from\": [\"(a*)*\\\\1\"]}}"),
	    "t:1:24: regular expression \"(a*)*\\1\" refused: back-references (\\1..\\9) are not "
	    "allowed\n");
	/* Ordinary counted repetitions are fine. */
	ck_assert_str_eq(
	    problems_of("{\"incoming\": {\"from\": [\"sip:(a{1,100}){1,10}@[a-z]+\"]}}"), "");
}
END_TEST

static Suite *
xlate_suite(void)
{
	Suite *s = suite_create("xlate");

	UNIT_ADD(s, test_default_is_shipped_file);
	UNIT_ADD(s, test_load_file_and_missing_file);
	UNIT_ADD(s, test_phone_to_sip_default_rules);
	UNIT_ADD(s, test_rule_order_and_groups);
	UNIT_ADD(s, test_directory_wins_both_ways);
	UNIT_ADD(s, test_directory_10k);
	UNIT_ADD(s, test_sip_to_party);
	UNIT_ADD(s, test_participant_templates);
	UNIT_ADD(s, test_state_maps);
	UNIT_ADD(s, test_capabilities);
	UNIT_ADD(s, test_notify_state_matches_sample);
	UNIT_ADD(s, test_notify_message_and_extra_fields);
	UNIT_ADD(s, test_text_out_policy);
	UNIT_ADD(s, test_text_in_html);
	UNIT_ADD(s, test_html_reduction);
	UNIT_ADD(s, test_text_in_policy);
	UNIT_ADD(s, test_uses_var);
	UNIT_ADD(s, test_undelivered_notice);
	UNIT_ADD(s, test_incoming_policy);
	UNIT_ADD(s, test_subject_from_userdata);
	UNIT_ADD(s, test_current_swap_keeps_old_alive);
	UNIT_ADD(s, test_check_json_error);
	UNIT_ADD(s, test_check_unknown_keys);
	UNIT_ADD(s, test_check_wrong_types_and_ranges);
	UNIT_ADD(s, test_check_bad_regex);
	UNIT_ADD(s, test_check_templates);
	UNIT_ADD(s, test_check_unreachable_rules);
	UNIT_ADD(s, test_check_directory);
	UNIT_ADD(s, test_check_directory_shapes);
	UNIT_ADD(s, test_directory_keys_in_any_order_and_case);
	UNIT_ADD(s, test_check_states_caps_notifications);
	UNIT_ADD(s, test_check_duplicate_keys);
	UNIT_ADD(s, test_check_costly_regex);
	return s;
}

UNIT_MAIN(xlate_suite)
