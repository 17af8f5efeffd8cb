package org.sparkrlhf.rundir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.attribute.FileTime;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The few file operations a lease needs, each atomic where it matters: a file is published whole
 * under a name only if no file has that name (write a temporary, then rename without replacing).
 * HDFS's rename refuses an existing target, so Hadoop's API serves; Hadoop's local file system
 * renames with replacement, so local files go through java.nio, whose hard link refuses one.
 */
interface LeaseFiles {

    /** A file's bytes and modification time. */
    record Stamped(byte[] content, long modifiedMillis) {}

    /** Writes {@code content} as {@code name} if no file has that name; false if one does. */
    boolean publish(String name, byte[] content) throws IOException;

    /** The file, or null when there is none. */
    Stamped read(String name) throws IOException;

    /** Sets the file's modification time; false when the file is gone. */
    boolean touch(String name, long millis) throws IOException;

    void delete(String name) throws IOException;

    static LeaseFiles in(FileSystem fs, Path dir) {
        return "file".equals(fs.getScheme()) ? new Local(java.nio.file.Path.of(fs.makeQualified(dir).toUri())) : new Hadoop(fs, dir);
    }

    /** Any Hadoop FileSystem whose rename refuses an existing target (HDFS does). */
    final class Hadoop implements LeaseFiles {
        private final FileSystem fs;
        private final Path dir;

        Hadoop(FileSystem fs, Path dir) {
            this.fs = fs;
            this.dir = dir;
        }

        @Override
        public boolean publish(String name, byte[] content) throws IOException {
            Path tmp = new Path(dir, "." + name + "." + java.util.UUID.randomUUID() + ".tmp");
            try (OutputStream out = fs.create(tmp, false)) {
                out.write(content);
            }
            boolean done = fs.rename(tmp, new Path(dir, name));
            if (!done) fs.delete(tmp, false);
            return done;
        }

        @Override
        public Stamped read(String name) throws IOException {
            Path p = new Path(dir, name);
            try {
                FileStatus s = fs.getFileStatus(p);
                try (InputStream in = fs.open(p)) {
                    return new Stamped(in.readAllBytes(), s.getModificationTime());
                }
            } catch (java.io.FileNotFoundException e) {
                return null;
            }
        }

        @Override
        public boolean touch(String name, long millis) throws IOException {
            try {
                fs.setTimes(new Path(dir, name), millis, -1);
                return true;
            } catch (java.io.FileNotFoundException e) {
                return false;
            }
        }

        @Override
        public void delete(String name) throws IOException {
            fs.delete(new Path(dir, name), false);
        }
    }

    /** Local files: hard links give the refusing rename that POSIX rename(2) lacks. */
    final class Local implements LeaseFiles {
        private final java.nio.file.Path dir;

        Local(java.nio.file.Path dir) {
            this.dir = dir;
        }

        @Override
        public boolean publish(String name, byte[] content) throws IOException {
            java.nio.file.Path tmp = dir.resolve("." + name + "." + java.util.UUID.randomUUID() + ".tmp");
            Files.write(tmp, content);
            try {
                return link(tmp, dir.resolve(name));
            } finally {
                Files.deleteIfExists(tmp);
            }
        }

        private static boolean link(java.nio.file.Path existing, java.nio.file.Path name) throws IOException {
            try {
                Files.createLink(name, existing);
                return true;
            } catch (FileAlreadyExistsException e) {
                return false;
            }
        }

        @Override
        public Stamped read(String name) throws IOException {
            java.nio.file.Path p = dir.resolve(name);
            try {
                long modified = Files.getLastModifiedTime(p).toMillis();
                return new Stamped(Files.readAllBytes(p), modified);
            } catch (NoSuchFileException e) {
                return null;
            }
        }

        @Override
        public boolean touch(String name, long millis) throws IOException {
            try {
                Files.setLastModifiedTime(dir.resolve(name), FileTime.fromMillis(millis));
                return true;
            } catch (NoSuchFileException e) {
                return false;
            }
        }

        @Override
        public void delete(String name) throws IOException {
            Files.deleteIfExists(dir.resolve(name));
        }
    }
}
