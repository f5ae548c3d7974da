/*
 * notify-sink.c: stands in for systemd's notification socket in the
 * end-to-end tests. Binds a datagram socket at argv[1], prints "ready" once
 * bound, then every datagram received on one line (newlines as '|'), until
 * SIGTERM. A test tool: blocking calls are fine here.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Print each datagram as one line. */
int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	char msg[4096];
	ssize_t n;
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof sun.sun_path) {
		fprintf(stderr, "usage: notify-sink PATH\n");
		return 2;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		perror("notify-sink");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while ((n = recv(fd, msg, sizeof msg - 1, 0)) >= 0) {
		msg[n] = '\0';
		for (ssize_t i = 0; i < n; i++) {
			if (msg[i] == '\n')
				msg[i] = '|';
		}
		printf("%s\n", msg);
		fflush(stdout);
	}
	unlink(argv[1]);
	return 0;
}
