/* mg_snapshot_write: durable writes, rotation, the forked writer, and the
 * choice of file at start. */
#include "mg_snapshot_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mg_log.h"

static void path_of(char *buf, size_t len, const char *dir, const char *suffix)
{
    snprintf(buf, len, "%s/" MG_SNAPSHOT_FILE "%s", dir, suffix);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* moongate.snap becomes moongate.snap.1 without a moment where neither
 * name holds a good file: a hard link under a temporary name, renamed. */
static int keep_previous(const char *cur, const char *prev, const char *prevtmp)
{
    unlink(prevtmp);
    if (link(cur, prevtmp) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (rename(prevtmp, prev) < 0) {
        int e = errno;
        unlink(prevtmp);
        return -e;
    }
    return 0;
}

int mg_snapshot_save(struct mg_gateway *gw, const char *dir, int64_t now_ms,
                     uint64_t *bytes, char *why, size_t whylen)
{
    char cur[4096], prev[4096], tmp[4096], prevtmp[4096];
    path_of(cur, sizeof(cur), dir, "");
    path_of(prev, sizeof(prev), dir, ".1");
    path_of(tmp, sizeof(tmp), dir, ".tmp");
    path_of(prevtmp, sizeof(prevtmp), dir, ".1.tmp");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        snprintf(why, whylen, "create %s: %s", tmp, strerror(e));
        return -e;
    }
    int rc = mg_snapshot_write(gw, fd, now_ms, bytes);
    if (rc) {
        snprintf(why, whylen, "write %s: %s", tmp, strerror(-rc));
        goto fail;
    }
    if (fsync(fd) < 0) {
        rc = -errno;
        snprintf(why, whylen, "fsync %s: %s", tmp, strerror(-rc));
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = -errno;
        snprintf(why, whylen, "close %s: %s", tmp, strerror(-rc));
        goto fail;
    }
    fd = -1;
    if ((rc = keep_previous(cur, prev, prevtmp))) {
        snprintf(why, whylen, "keep the previous generation: %s", strerror(-rc));
        goto fail;
    }
    if (rename(tmp, cur) < 0) {
        rc = -errno;
        snprintf(why, whylen, "rename %s: %s", tmp, strerror(-rc));
        goto fail;
    }
    if ((rc = fsync_dir(dir))) {
        /* the file is in place; only its durability is in doubt */
        snprintf(why, whylen, "fsync %s: %s", dir, strerror(-rc));
        return rc;
    }
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

pid_t mg_snapshot_fork(struct mg_gateway *gw, const char *dir, int64_t now_ms)
{
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid > 0)
        return pid;
    /* the child: a copy-on-write image of the heap as it was at fork();
     * it serializes, exits, and touches nothing the parent owns (no
     * atexit handlers, no stdio buffers flushed twice) */
    char why[512];
    uint64_t bytes;
    int rc = mg_snapshot_save(gw, dir, now_ms, &bytes, why, sizeof(why));
    if (rc)
        mg_log(MG_LOG_ERROR, "snapshot failed", "err", why, NULL);
    _exit(rc ? (-rc > 0 && -rc < 256 ? -rc : EIO) : 0);
}

int mg_snapshot_child_result(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status) ? -WEXITSTATUS(status) : 0;
    return -EINTR; /* killed by a signal */
}

const char *mg_snapshot_reason(int err)
{
    switch (-err) {
    case ENOSPC:
    case EDQUOT:
        return "enospc";
    case ENOMEM:
        return "enomem";
    case EINTR:
        return "killed";
    case EAGAIN:
        return "fork";
    case EACCES:
    case EPERM:
    case EROFS:
        return "permission";
    default:
        return "io";
    }
}

void mg_snapshot_move_aside(const char *path, const char *why)
{
    char bad[4200];
    snprintf(bad, sizeof(bad), "%s.bad-%lld", path, (long long)time(NULL));
    if (rename(path, bad) == 0)
        mg_log(MG_LOG_ERROR, "snapshot does not check; moved aside", "file", path,
               "moved_to", bad, "err", why, NULL);
    else
        mg_log(MG_LOG_ERROR, "snapshot does not check; could not move it aside", "file",
               path, "err", why, NULL);
}

int mg_snapshot_find(const char *dir, struct mg_snap *s, char *which,
                     size_t whichlen)
{
    struct stat sb;
    if (stat(dir, &sb) < 0) {
        if (errno != ENOENT || mkdir(dir, 0755) < 0)
            return -errno;
    } else if (!S_ISDIR(sb.st_mode)) {
        return -ENOTDIR;
    }
    const char *suffix[2] = {"", ".1"};
    for (int i = 0; i < 2; i++) {
        char path[4096], why[256];
        path_of(path, sizeof(path), dir, suffix[i]);
        int rc = mg_snap_open(s, path, why, sizeof(why));
        if (rc == 0) {
            snprintf(which, whichlen, "%s", path);
            return 1;
        }
        if (rc == -ENOENT)
            continue;
        mg_snapshot_move_aside(path, why);
    }
    return 0;
}
