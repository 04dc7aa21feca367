/*
 * cecho: a minimal single-threaded epoll echo server for TCP and UDP on one
 * port, the reference that bench/echo.sh compares the Go servers with.
 *
 *   cecho -addr 127.0.0.1:7007
 *
 * TCP: level-triggered epoll; each readable connection is read into one
 * shared 64 KiB buffer and written straight back. Bytes the kernel will not
 * take at once are kept in a per-connection buffer, the connection stops
 * being read until they are sent (EPOLLOUT), so memory stays bounded.
 * An idle connection costs one pointer of user memory.
 *
 * UDP: recvmmsg in batches of up to BATCH datagrams, sendmmsg of the same
 * buffers back to each source.
 *
 * Prints nothing but errors. Built by bench/echo.sh with gcc -O2.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFSZ (64 * 1024)
#define BATCH 64
#define MAXDGRAM 65536
#define MAXEV 256

struct pending {
	size_t off, len;
	char data[];
};

static struct pending **pend; /* indexed by fd; NULL when nothing is queued */
static int npend;
static int ep;
static char buf[BUFSZ];

static void die(const char *what) {
	perror(what);
	exit(1);
}

static int parse_addr(const char *s, struct sockaddr_in *sa) {
	const char *colon = strrchr(s, ':');
	char host[64];
	size_t hl;
	if (!colon)
		return -1;
	hl = (size_t)(colon - s);
	if (hl >= sizeof host)
		return -1;
	memcpy(host, s, hl);
	host[hl] = 0;
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)atoi(colon + 1));
	if (hl == 0)
		sa->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	return 0;
}

static void ep_ctl(int op, int fd, unsigned ev) {
	struct epoll_event e;
	memset(&e, 0, sizeof e);
	e.events = ev;
	e.data.fd = fd;
	if (epoll_ctl(ep, op, fd, &e) < 0 && op != EPOLL_CTL_DEL)
		die("epoll_ctl");
}

static void close_conn(int fd) {
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	if (fd < npend && pend[fd]) {
		free(pend[fd]);
		pend[fd] = NULL;
	}
	close(fd);
}

/* write_all sends p[0:n] to fd; what the kernel does not take is queued and
 * the connection switched to EPOLLOUT. Returns -1 if the connection died. */
static int write_all(int fd, const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pending *q = malloc(sizeof *q + n);
				if (!q)
					die("malloc");
				q->off = 0;
				q->len = n;
				memcpy(q->data, p, n);
				pend[fd] = q;
				ep_ctl(EPOLL_CTL_MOD, fd, EPOLLOUT);
				return 0;
			}
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void on_tcp_readable(int fd) {
	if (pend[fd]) { /* error or hang-up while output is queued */
		close_conn(fd);
		return;
	}
	/* a few reads per wakeup, then give other connections their turn */
	for (int i = 0; i < 4; i++) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r == 0) {
			close_conn(fd);
			return;
		}
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			close_conn(fd);
			return;
		}
		if (write_all(fd, buf, (size_t)r) < 0) {
			close_conn(fd);
			return;
		}
		if (pend[fd] || (size_t)r < sizeof buf)
			return;
	}
}

static void on_tcp_writable(int fd) {
	struct pending *q = pend[fd];
	while (q && q->off < q->len) {
		ssize_t w = write(fd, q->data + q->off, q->len - q->off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			close_conn(fd);
			return;
		}
		q->off += (size_t)w;
	}
	free(q);
	pend[fd] = NULL;
	ep_ctl(EPOLL_CTL_MOD, fd, EPOLLIN | EPOLLRDHUP);
}

static void on_accept(int lfd) {
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				return;
			if (errno == EMFILE || errno == ENFILE) {
				perror("accept4");
				return;
			}
			die("accept4");
		}
		if (fd >= npend) {
			int n = npend;
			while (n <= fd)
				n *= 2;
			pend = realloc(pend, (size_t)n * sizeof *pend);
			if (!pend)
				die("realloc");
			memset(pend + npend, 0, (size_t)(n - npend) * sizeof *pend);
			npend = n;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		ep_ctl(EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP);
	}
}

static struct mmsghdr msgs[BATCH];
static struct iovec iovs[BATCH];
static struct sockaddr_in6 from[BATCH];
static char *dgrams;

static void on_udp_readable(int ufd) {
	for (int round = 0; round < 16; round++) {
		for (int i = 0; i < BATCH; i++) {
			iovs[i].iov_base = dgrams + (size_t)i * MAXDGRAM;
			iovs[i].iov_len = MAXDGRAM;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof from[i];
			msgs[i].msg_hdr.msg_iov = &iovs[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_control = NULL;
			msgs[i].msg_hdr.msg_controllen = 0;
			msgs[i].msg_hdr.msg_flags = 0;
			msgs[i].msg_len = 0;
		}
		int n = recvmmsg(ufd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++)
			iovs[i].iov_len = msgs[i].msg_len;
		int sent = 0;
		while (sent < n) {
			int m = sendmmsg(ufd, msgs + sent, (unsigned)(n - sent), 0);
			if (m <= 0) {
				if (m < 0 && errno == EINTR)
					continue;
				break; /* drop the rest, as UDP may */
			}
			sent += m;
		}
		if (n < BATCH)
			return;
	}
}

int main(int argc, char **argv) {
	const char *addr = "127.0.0.1:7007";
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-addr") || !strcmp(argv[i], "--addr")) && i + 1 < argc)
			addr = argv[++i];
		else {
			fprintf(stderr, "usage: cecho [-addr host:port]\n");
			return 2;
		}
	}
	struct sockaddr_in sa;
	if (parse_addr(addr, &sa) < 0) {
		fprintf(stderr, "cecho: bad -addr %s\n", addr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	npend = 1024;
	pend = calloc((size_t)npend, sizeof *pend);
	dgrams = malloc((size_t)BATCH * MAXDGRAM);
	if (!pend || !dgrams)
		die("malloc");

	int one = 1;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("bind tcp");
	if (listen(lfd, 4096) < 0)
		die("listen");

	int ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ufd < 0)
		die("socket");
	if (bind(ufd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("bind udp");

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	ep_ctl(EPOLL_CTL_ADD, lfd, EPOLLIN);
	ep_ctl(EPOLL_CTL_ADD, ufd, EPOLLIN);

	struct epoll_event evs[MAXEV];
	for (;;) {
		int n = epoll_wait(ep, evs, MAXEV, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			unsigned e = evs[i].events;
			if (fd == lfd)
				on_accept(lfd);
			else if (fd == ufd)
				on_udp_readable(ufd);
			else if (e & EPOLLOUT)
				on_tcp_writable(fd);
			else if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				on_tcp_readable(fd);
		}
	}
}
