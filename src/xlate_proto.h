/*
 * xlate_proto.h: transcripts (the JSON files in proto/). A transcript holds one input
 * (a GWS request, or a UCWA event-channel response) with the session as
 * it stood, and the outputs expected from the translation rules: the GWS
 * answer, the UCWA requests and the notifications. xlate_proto_eval()
 * plays the input through the xlate functions exactly as the gateway
 * would (it is the reference model of the GWS layer's use of xlate) and
 * xlate_proto_check() compares with what was expected. Pure: no I/O.
 * docs/translation.md describes the format.
 */
#ifndef UCGW_XLATE_PROTO_H
#define UCGW_XLATE_PROTO_H

#include "json.h"
#include "util.h"
#include "xlate.h"

/*
 * Play t's input; append the outputs to out as one JSON object
 * {"response":…,"upstream":[…],"notifications":[…],"session":…}.
 * -1 with *err (malloc'd) when the transcript itself is malformed.
 */
int xlate_proto_eval(const struct xlate_rules *, const struct json *t, struct buf *out, char **err);

/*
 * Play t and compare each part named in t's "expect" with what came out;
 * append one "expected/actual" paragraph per difference to report.
 * Returns the number of differences, or -1 (reason in report).
 */
int xlate_proto_check(const struct xlate_rules *, const struct json *t, struct buf *report);

#endif
