/* smtpd.c - the chrooted SMTP gatekeeper: main() */
/*
 * main() only: options, logging, the privilege drop, then either one
 * session on fd 0/1 (inetd mode: inetd, xinetd, systemd Accept=yes,
 * tcpserver) or, with -D, the daemon's master (master.c), whose children
 * serve with the same code (serve.c). Order (docs/smtpd.8, STARTUP):
 * everything that needs root or the real file system (user lookup,
 * syslog socket, time zone, resolver configuration, jail check; with
 * -D also the file limit, the pid file and the listeners) happens
 * first; then chroot and the drop, verified; then the rules and the
 * spool are opened inside the jail, and only then is a client greeted
 * or read.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <fcntl.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/priv.h"
#include "../lib/resolv.h"
#include "../lib/spool.h"
#include "../rules/rules.h"
#include "conn.h"
#include "forkmem.h"
#include "master.h"
#include "serve.h"
#include "session.h"
#include "smtpd_limits.h"

#define USAGE \
"usage: smtpd [-HlqUv] [-c jail] [-d spooldir] [-u user] [-g group]\n" \
"             [-m myname] [-s maxsize] [-r rulesfile] [-o key=value]...\n" \
"       smtpd -D [-b address]... [-p port] [-i pidfile] [options above]\n"

#define EXIT_TEMP	111
#define EXIT_PERM	100

#define DEFAULT_JAIL	"/var/spool/smtpd"
#define DEFAULT_SPOOL	"/spool"
#define DEFAULT_USER	"smtpd"
#define DEFAULT_RULES	"/etc/smtpd_check_rules"
#define DEFAULT_BANNER	"ready"
#define DEFAULT_PIDFILE	"/run/smtpd.pid"

struct options {
	const char *jail, *spooldir, *user, *group, *myname, *rules;
	int is_no_dns, is_quiet, is_stderr, is_debug;
	int is_unprivileged;		/* -U: no root, no chroot (make run) */
	struct session_config sess;
	struct conn_config conn;
	struct resolv_conf dns;
	struct rule_options ropts;
	unsigned int noto_delay, deny_delay, ident_timeout;
	int is_ident_on, is_tempfail_allow;
	int is_daemon;			/* -D */
	struct master_config master;	/* -b -p -i and the daemon's -o */
	int has_daemon_flags;		/* -b, -p or -i given */
};

/* What a child of the daemon needs; the master swaps rs on SIGHUP. */
struct daemon_ctx {
	struct options *o;
	struct ruleset *rs;
	int has_dns;			/* o->dns.servers holds a list */
};

static volatile sig_atomic_t stop_flag;
static const char fatal_reply[] =
    "421 4.3.0 Service not available, closing transmission channel\r\n";

/* die_usage - print usage and exit 100 */
static void __attribute__((noreturn))
die_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "smtpd: %s\n", why);
	fputs(USAGE, stderr);
	exit(EXIT_PERM);
}

/* die_config - a configuration error after logging is up: log, exit 111 */
static void __attribute__((noreturn, format(printf, 1, 2)))
die_config(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("fatal: %s", msg);
	/* Tell the client, if one is there; ignore a failure. */
	if (write(1, fatal_reply, sizeof(fatal_reply) - 1) < 0)
		exit(EXIT_TEMP);
	exit(EXIT_TEMP);
}

/* number - a bounded decimal value */
static unsigned long long
number(const char *s, unsigned long long min, unsigned long long max,
    const char *what)
{
	char *end;
	unsigned long long v;
	char msg[128];

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		v = 0, errno = EINVAL;
	else
		v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max) {
		snprintf(msg, sizeof(msg), "bad %s \"%.40s\" (%llu..%llu)",
		    what, s, min, max);
		die_usage(msg);
	}
	return v;
}

/* text_ok - printable ASCII, bounded, for banner text and myname */
static int
text_ok(const char *s, size_t max, int is_blank_ok)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > max)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ||
		    (!is_blank_ok && s[i] == ' '))
			return 0;
	return 1;
}

/* set_option - one -o key=value */
static void
set_option(struct options *o, char *kv)
{
	char *v = strchr(kv, '=');

	if (v == NULL)
		die_usage("-o takes key=value");
	*v++ = '\0';
	if (strcmp(kv, "banner_delay") == 0)
		o->conn.banner_delay = (unsigned int)number(v, 0,
		    SMTPD_DELAY_LIMIT, kv);
	else if (strcmp(kv, "tarpit_delay") == 0)
		o->sess.tarpit_delay = (unsigned int)number(v, 0,
		    SMTPD_DELAY_LIMIT, kv);
	else if (strcmp(kv, "noto_delay") == 0)
		o->noto_delay = (unsigned int)number(v, 0, SMTPD_DELAY_LIMIT,
		    kv);
	else if (strcmp(kv, "deny_delay") == 0)
		o->deny_delay = (unsigned int)number(v, 0, SMTPD_DELAY_LIMIT,
		    kv);
	else if (strcmp(kv, "max_rcpt") == 0)
		o->sess.max_rcpt = (unsigned int)number(v, 1, SMTPD_RCPT_LIMIT,
		    kv);
	else if (strcmp(kv, "max_errors") == 0)
		o->sess.max_errors = (unsigned int)number(v, 1, 10000, kv);
	else if (strcmp(kv, "max_messages") == 0)
		o->sess.max_messages = (unsigned int)number(v, 1, 100000, kv);
	else if (strcmp(kv, "idle_timeout") == 0)
		o->conn.idle_timeout = (unsigned int)number(v, 1,
		    SMTPD_TIMEOUT_LIMIT, kv);
	else if (strcmp(kv, "write_timeout") == 0)
		o->conn.write_timeout = (unsigned int)number(v, 1,
		    SMTPD_TIMEOUT_LIMIT, kv);
	else if (strcmp(kv, "session_timeout") == 0)
		o->conn.session_timeout = (unsigned int)number(v, 1,
		    SMTPD_TIMEOUT_LIMIT, kv);
	else if (strcmp(kv, "max_children") == 0)
		o->master.max_children = (unsigned int)number(v, 1,
		    SMTPD_CHILDREN_LIMIT, kv);
	else if (strcmp(kv, "max_per_ip") == 0)
		o->master.max_per_ip = (unsigned int)number(v, 1,
		    SMTPD_PER_IP_LIMIT, kv);
	else if (strcmp(kv, "max_held") == 0)
		o->master.max_held = (unsigned int)number(v, 1,
		    SMTPD_HELD_LIMIT, kv);
	else if (strcmp(kv, "max_files") == 0)
		o->master.max_files = (unsigned int)number(v, SMTPD_FILES_MIN,
		    SMTPD_FILES_LIMIT, kv);
	else if (strcmp(kv, "drain_timeout") == 0)
		o->master.drain_timeout = (unsigned int)number(v, 0,
		    SMTPD_TIMEOUT_LIMIT, kv);
	else if (strcmp(kv, "ident") == 0) {
		if (strcmp(v, "on") == 0)
			o->is_ident_on = 1;
		else if (strcmp(v, "off") == 0)
			o->is_ident_on = 0;
		else
			die_usage("ident takes on or off");
	} else if (strcmp(kv, "ident_timeout") == 0)
		o->ident_timeout = (unsigned int)number(v, 1, 60, kv);
	else if (strcmp(kv, "dns_query_ms") == 0)
		o->dns.query_ms = (unsigned int)number(v, 1, 600000, kv);
	else if (strcmp(kv, "dns_budget_ms") == 0)
		o->dns.budget_ms = (unsigned int)number(v, 1, 3600000, kv);
	else if (strcmp(kv, "banner_text") == 0) {
		if (!text_ok(v, SMTPD_TEXT_MAX, 1))
			die_usage("banner_text: 1..200 printable characters");
		o->sess.banner_text = v;
	} else if (strcmp(kv, "bare_lf") == 0) {
		if (strcmp(v, "accept") == 0)
			o->sess.is_bare_lf_ok = 1;
		else if (strcmp(v, "refuse") == 0)
			o->sess.is_bare_lf_ok = 0;
		else
			die_usage("bare_lf takes accept or refuse");
	} else if (strcmp(kv, "rules_tempfail") == 0) {
		if (strcmp(v, "allow") == 0)
			o->is_tempfail_allow = 1;
		else if (strcmp(v, "defer") == 0)
			o->is_tempfail_allow = 0;
		else
			die_usage("rules_tempfail takes defer or allow");
	} else if (strcmp(kv, "default_action") == 0) {
		if (strcmp(v, "allow") == 0)
			o->ropts.default_action = RULE_ALLOW;
		else if (strcmp(v, "noto") == 0)
			o->ropts.default_action = RULE_NOTO;
		else if (strcmp(v, "deny") == 0)
			o->ropts.default_action = RULE_DENY;
		else
			die_usage("default_action takes allow, noto or deny");
	} else {
		char msg[160];

		snprintf(msg, sizeof(msg), "unknown -o key \"%.60s\"", kv);
		die_usage(msg);
	}
}

/* defaults - every setting's default (smtpd_limits.h) */
static void
defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->jail = DEFAULT_JAIL;
	o->spooldir = DEFAULT_SPOOL;
	o->user = DEFAULT_USER;
	o->rules = DEFAULT_RULES;
	o->sess.banner_text = DEFAULT_BANNER;
	o->sess.max_size = SMTPD_SIZE_DEFAULT;
	o->sess.max_rcpt = SMTPD_RCPT_DEFAULT;
	o->sess.max_errors = SMTPD_ERRORS_DEFAULT;
	o->sess.max_messages = SMTPD_MESSAGES_DEFAULT;
	o->sess.tarpit_delay = SMTPD_TARPIT_DELAY;
	o->conn.in_fd = 0;
	o->conn.out_fd = 1;
	o->conn.banner_delay = SMTPD_BANNER_DELAY;
	o->conn.idle_timeout = SMTPD_IDLE_TIMEOUT;
	o->conn.write_timeout = SMTPD_WRITE_TIMEOUT;
	o->conn.session_timeout = SMTPD_SESSION_TIMEOUT;
	o->noto_delay = SMTPD_NOTO_DELAY;
	o->deny_delay = SMTPD_DENY_DELAY;
	o->ident_timeout = SMTPD_IDENT_TIMEOUT;
	o->dns.query_ms = SMTPD_DNS_QUERY_MS;
	o->dns.budget_ms = SMTPD_DNS_BUDGET_MS;
	o->ropts.default_action = RULE_ALLOW;
	o->master.port = SMTPD_PORT_DEFAULT;
	o->master.pidfile = DEFAULT_PIDFILE;
	o->master.max_children = SMTPD_CHILDREN_DEFAULT;
	o->master.max_per_ip = SMTPD_PER_IP_DEFAULT;
	o->master.max_held = SMTPD_HELD_DEFAULT;
	o->master.max_files = SMTPD_FILES_DEFAULT;
	o->master.drain_timeout = SMTPD_DRAIN_DEFAULT;
	o->master.keep_fd = -1;
}

/* parse_args - the command line */
static void
parse_args(struct options *o, int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "b:c:d:Dg:Hi:lm:o:p:qr:s:u:Uv")) !=
	    -1) {
		switch (ch) {
		case 'b':
			if (o->master.naddrs == SMTPD_LISTEN_MAX)
				die_usage("-b: too many addresses");
			o->master.addrs[o->master.naddrs++] = optarg;
			o->has_daemon_flags = 1;
			break;
		case 'c': o->jail = optarg; break;
		case 'd': o->spooldir = optarg; break;
		case 'D': o->is_daemon = 1; break;
		case 'g': o->group = optarg; break;
		case 'i':
			o->master.pidfile = optarg;
			o->has_daemon_flags = 1;
			break;
		case 'p':
			o->master.port = (unsigned int)number(optarg, 1, 65535,
			    "-p");
			o->has_daemon_flags = 1;
			break;
		case 'H': o->is_no_dns = 1; break;
		case 'l': o->is_stderr = 1; break;
		case 'm': o->myname = optarg; break;
		case 'o': set_option(o, optarg); break;
		case 'q': o->is_quiet = 1; break;
		case 'r': o->rules = optarg; break;
		case 's':
			o->sess.max_size = number(optarg, 1, SMTPD_SIZE_LIMIT,
			    "-s");
			break;
		case 'u': o->user = optarg; break;
		case 'U': o->is_unprivileged = 1; break;
		case 'v': o->is_debug = 1; break;
		default: die_usage(NULL);
		}
	}
	if (optind != argc)
		die_usage("unexpected arguments");
	if (o->jail[0] != '/')
		die_usage("-c: the jail must be an absolute path");
	if (o->spooldir[0] != '/')
		die_usage("-d: the spool directory must be absolute (inside "
		    "the jail)");
	if (o->rules[0] != '/')
		die_usage("-r: the rules file must be absolute (inside the "
		    "jail)");
	if (o->myname != NULL && !text_ok(o->myname, SMTPD_DOMAIN_MAX, 0))
		die_usage("-m: a host name, printable, without blanks");
	if (o->has_daemon_flags && !o->is_daemon)
		die_usage("-b, -i and -p are for daemon mode (-D)");
	if (o->is_daemon && o->master.pidfile[0] != '/')
		die_usage("-i: the pid file must be an absolute path");
	o->sess.is_quiet = o->is_quiet;
}

/* signals - SIGPIPE ignored (write errors are handled); SIGALRM for a
   stopping session, and in inetd mode SIGTERM (conn.c; the daemon's
   master sets its own, master.c, and gives children conn.c's) */
static void
signals(int is_daemon)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		die_config("sigaction SIGPIPE: %s", strerror(errno));
	if (conn_catch_term(&stop_flag, !is_daemon) == -1)
		die_config("sigaction SIGALRM/SIGTERM: %s", strerror(errno));
}

/* stdio_daemon - daemon mode: fd 0 and 1 on /dev/null (children put
   their connection there), fd 2 too if it is closed */
static void
stdio_daemon(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd == -1 || dup2(fd, 0) == -1 || dup2(fd, 1) == -1 ||
	    (fcntl(2, F_GETFD) == -1 && dup2(fd, 2) == -1)) {
		fprintf(stderr, "smtpd: fatal: /dev/null: %s\n",
		    strerror(errno));
		exit(EXIT_TEMP);
	}
	if (fd > 2)
		close(fd);
}

/* lowest_free_fd - the descriptor the next open() would get */
static int
lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd != -1)
		close(fd);
	return fd;
}

/* log_socket - the syslog socket, if openlog() just put it on fd (the
   daemon's children keep it and close every other descriptor) */
static int
log_socket(int fd)
{
	struct stat st;

	if (fd < 3 || fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode))
		return -1;
	return fd;
}

/* rules_error - each load error as "file:line: reason" */
static void
rules_error(void *arg, const char *file, unsigned int line,
    const char *reason)
{
	(void)arg;
	if (line > 0)
		log_warnx("%s:%u: %s", file, line, reason);
	else
		log_warnx("%s: %s", file, reason);
}

/* log_privileges - the verified state, at debug level (tests read it) */
static void
log_privileges(const struct priv_ids *ids, const char *jail)
{
	struct priv_state st;
	char cwd[PATH_MAX];

	/* priv_drop() has verified the drop; this is the line for -v. */
	if (!log_is_debug())
		return;
	if (priv_verify(ids, &st) == -1)
		die_config("privileges not dropped after priv_drop");
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		cwd[0] = '\0';
	log_debug("event=privileges uid=%lu euid=%lu suid=%lu gid=%lu "
	    "egid=%lu sgid=%lu groups=%d group0=%lu jail=%s cwd=%s "
	    "setuid0=refused", (unsigned long)st.ruid, (unsigned long)st.euid,
	    (unsigned long)st.suid, (unsigned long)st.rgid,
	    (unsigned long)st.egid, (unsigned long)st.sgid, st.ngroups,
	    (unsigned long)st.group0, jail, cwd);
}

/* in_jail - a path inside the jail, as seen from the jail directory */
static const char *
in_jail(const char *path)
{
	while (*path == '/')
		path++;
	return *path != '\0' ? path : ".";
}

/*
 * unprivileged - smtpd -U: for trying smtpd without root (make run). No
 * chroot and no change of user: the process works in the jail directory,
 * where the paths that name files inside the jail are read relative to
 * it. Refused as root, where the jail is always entered.
 */
static void
unprivileged(struct options *o)
{
	if (geteuid() == 0 || getuid() == 0)
		die_usage("-U is for running without root; as root smtpd "
		    "always enters its jail");
	if (chdir(o->jail) == -1)
		die_config("-U: cannot enter %s: %s", o->jail, strerror(errno));
	o->spooldir = in_jail(o->spooldir);
	o->rules = in_jail(o->rules);
	o->ropts.table_root = ".";
	log_warnx("event=privileges unprivileged=yes jail=%s: smtpd -U runs "
	    "without its jail and as uid %ld, for testing only", o->jail,
	    (long)getuid());
}

/* load_rules - the ruleset, or NULL (each error logged) */
static struct ruleset *
load_rules(struct options *o)
{
	o->ropts.error_fn = rules_error;
	return ruleset_load(o->rules, &o->ropts);
}

/* serve_config_of - the per-session settings from the options */
static void
serve_config_of(const struct options *o, struct serve_config *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->sess = o->sess;
	sc->conn = o->conn;
	sc->spooldir = o->spooldir;
	sc->rules_path = o->rules;
	sc->noto_delay = o->noto_delay;
	sc->deny_delay = o->deny_delay;
	sc->ident_timeout = o->is_ident_on ? o->ident_timeout : 0;
	sc->is_dns_on = !o->is_no_dns;
	sc->is_tempfail_allow = o->is_tempfail_allow;
	sc->is_exit_after = 1;	/* one session per process in both modes */
	if (o->is_daemon)
		sc->conn.banner_delay = 0;	/* the master waited it out */
}

/* daemon_child - a child of the daemon: one session on fd 0/1 */
static void
daemon_child(void *arg)
{
	struct daemon_ctx *ctx = arg;
	struct serve_config sc;
	struct resolv *dns = NULL;
	char why[512];

	if (ctx->has_dns && (dns = resolv_new(&ctx->o->dns)) == NULL)
		log_warn("event=dns-error no resolver; rules that need DNS "
		    "will defer");
	serve_config_of(ctx->o, &sc);
	if (serve_session(&sc, ctx->rs, dns, why, sizeof(why)) == -1)
		die_config("%s", why);
	resolv_free(dns);
}

/* daemon_reload - SIGHUP in the master: new rules, or keep the old */
static void
daemon_reload(void *arg)
{
	struct daemon_ctx *ctx = arg;
	struct ruleset *rs;

	if ((rs = load_rules(ctx->o)) == NULL) {
		log_warnx("event=rules-error file=%s: not reloaded, the rules "
		    "loaded before stay in force", ctx->o->rules);
		return;
	}
	(void)ruleset_share(rs);
	ruleset_free(ctx->rs);
	ctx->rs = rs;
	log_info("event=rules-reload file=%s rules=%zu", ctx->o->rules,
	    ruleset_rule_count(rs));
}

/* daemon_refresh - once a second in the master: tables that changed */
static void
daemon_refresh(void *arg)
{
	struct daemon_ctx *ctx = arg;

	(void)ruleset_share(ctx->rs);
}

/* daemon_keep_fds - in a child: the shared tables' descriptors */
static size_t
daemon_keep_fds(void *arg, int *fds, size_t max)
{
	struct daemon_ctx *ctx = arg;

	return ruleset_shared_fds(ctx->rs, fds, max);
}

_Static_assert(SMTPD_KEEP_FDS_MAX >= RULE_SHARE_FDS_MAX,
    "a child must be able to keep every shared table's descriptor");

int
main(int argc, char **argv)
{
	static char dns_servers[RESOLV_SERVERS_TEXT];
	struct options o;
	struct priv_ids ids;
	struct resolv *dns = NULL;
	struct ruleset *rs;
	struct serve_config sc;
	struct daemon_ctx ctx;
	struct master *m = NULL;
	char why[512], host[256];
	time_t t;
	struct tm tm;
	int fd;

	umask(077);
	defaults(&o);
	parse_args(&o, argc, argv);
	if (o.is_daemon) {
		forkmem_prepare();
		stdio_daemon();
	}
	fd = lowest_free_fd();
	log_open("smtpd", o.is_stderr ? LOG_SINK_STDERR : LOG_SINK_SYSLOG,
	    LOG_MAIL);
	if (o.is_daemon && !o.is_stderr)
		o.master.keep_fd = log_socket(fd);
	log_set_debug(o.is_debug);
	signals(o.is_daemon);
	o.conn.stop = &stop_flag;

	/* As root, from the real file system. */
	tzset();
	t = time(NULL);
	(void)localtime_r(&t, &tm);	/* loads /etc/localtime now */
	if (o.is_unprivileged)
		unprivileged(&o);
	else if (priv_lookup(o.user, o.group, &ids, why, sizeof(why)) == -1)
		die_config("%s", why);
	if (!o.is_unprivileged &&
	    priv_check_jail(o.jail, why, sizeof(why)) == -1)
		die_config("unsafe jail: %s", why);
	if (o.myname == NULL) {
		if (gethostname(host, sizeof(host)) == -1 ||
		    !text_ok(host, SMTPD_DOMAIN_MAX, 0))
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		o.myname = host;
	}
	o.sess.myname = o.myname;
	memset(&ctx, 0, sizeof(ctx));
	if (o.is_daemon) {
		/* Children make their resolvers in the jail, where
		   resolv.conf is not: take the server list now. */
		ctx.o = &o;
		ctx.has_dns = 1;
		if (o.dns.servers == NULL) {
			if (resolv_servers_text(dns_servers,
			    sizeof(dns_servers)) == 0)
				o.dns.servers = dns_servers;
			else {
				log_warn("event=dns-error no DNS servers; "
				    "rules that need DNS will defer");
				ctx.has_dns = 0;
			}
		}
		o.master.myname = o.myname;
		o.master.banner_delay = o.conn.banner_delay;
		o.master.child_term = conn_on_term;
		o.master.child = daemon_child;
		o.master.reload = daemon_reload;
		o.master.refresh = daemon_refresh;
		o.master.keep_fds = daemon_keep_fds;
		o.master.arg = &ctx;
		if ((m = master_open(&o.master, why, sizeof(why))) == NULL)
			die_config("%s", why);
	} else if ((dns = resolv_new(&o.dns)) == NULL)
		/* The resolver reads resolv.conf (or $DNSCACHEIP) now. */
		log_warn("event=dns-error no resolver; rules that need DNS "
		    "will defer");

	if (!o.is_unprivileged) {
		if (priv_drop(&ids, o.jail, why, sizeof(why)) == -1)
			die_config("privilege drop: %s", why);
		log_privileges(&ids, o.jail);
	}

	/* Inside the jail, unprivileged. */
	if (spool_dir_check(o.spooldir, why, sizeof(why)) == -1)
		die_config("unsafe or missing spool: %s: %s", why,
		    strerror(errno));
	/* inetd mode: the image rulecheck -C made, if fresh and safe */
	o.ropts.use_image = !o.is_daemon;
	rs = load_rules(&o);
	if (o.is_daemon) {
		/* A daemon never starts on a broken file (design.md 3). */
		if (rs == NULL)
			die_config("event=rules-error file=%s: not loaded; "
			    "not starting", o.rules);
		/* Tables opened and regexes compiled once, here, for
		   every child; a table that fails is opened per session. */
		(void)ruleset_share(rs);
		ctx.rs = rs;
		return master_run(m);
	}
	if (rs == NULL)
		log_warnx("event=rules-error file=%s: not loaded, every "
		    "recipient will be deferred (4xx)", o.rules);
	serve_config_of(&o, &sc);
	if (serve_session(&sc, rs, dns, why, sizeof(why)) == -1)
		die_config("%s", why);
	ruleset_free(rs);
	resolv_free(dns);
	return 0;
}
