package dev.oomwatch.source.runsc;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a runsc root dir's state files, cheaply: each poll stats the dir and each {@code *.state}
 * file, lists the dir again only when its modification time or inode changed (a file created, removed
 * or renamed changes it; a file rewritten in place does not, and its own stat shows that), and reads
 * and parses only a file whose size, modification time or inode changed since it last parsed. A
 * listing taken within {@link #SETTLE} of the dir's modification is not trusted (an entry added in the
 * same timestamp tick would go unnoticed) and is taken again at the next poll. runsc rewrites a file
 * in place, so a read can catch it half-written:
 * such a file keeps its previous version and is read again at the next poll, as is a file that
 * parsed but was modified within {@link #SETTLE} of the read (a rewrite in the same timestamp tick
 * would otherwise go unnoticed). Files over {@link RunscStateFileParser#MAX_BYTES} are not read.
 *
 * <p>Not thread-safe: one poller thread uses it.
 */
final class StateDirectory {

  /** A file modified this recently before it was read may be rewritten unnoticed: read it again. */
  static final Duration SETTLE = Duration.ofMillis(50);
  /** After this many polls in a row with a file unusable, say so at WARN. */
  static final int WARN_AFTER_FAILURES = 5;

  private static final Logger log = LoggerFactory.getLogger(StateDirectory.class);

  /** What one poll of the dir found. */
  sealed interface Listing permits Missing, Unreadable, Listed {}

  /** The root dir does not exist (runsc has not run on this node yet, or the mount is missing). */
  record Missing() implements Listing {}

  /** The root dir cannot be listed; {@code sentence} says what to do. */
  record Unreadable(String sentence) implements Listing {}

  /**
   * The dir was listed.
   *
   * @param files      the newest complete version of every state file present
   * @param parsed     files read and parsed in this poll
   * @param retries    files read but unusable in this poll (to be read again)
   * @param refused    files not read because they are too large
   * @param problem    when some state file could not be read, a sentence saying what to do
   */
  record Listed(List<RunscStateFile> files, int parsed, int retries, int refused,
      Optional<String> problem) implements Listing {}

  private final Path root;
  private final String advice;
  private final Map<String, Entry> entries = new HashMap<>();
  /** The last listing, reused while the dir is unchanged; null when it must be taken again. */
  private List<Candidate> listing;
  private FileTime listedModified;
  private Object listedKey;
  private long listings;

  /** @param advice what to do when the dir or a file cannot be read, ending a sentence */
  StateDirectory(Path root, String advice) {
    this.root = root;
    this.advice = advice;
  }

  Path root() {
    return root;
  }

  /** How many times the dir was listed (not reused); for tests. */
  long listings() {
    return listings;
  }

  Listing poll() {
    List<Candidate> candidates;
    try {
      candidates = candidates();
    } catch (NoSuchFileException e) {
      entries.clear();
      return new Missing();
    } catch (NotDirectoryException e) {
      return new Unreadable(root + " is not a directory; " + advice);
    } catch (AccessDeniedException e) {
      return new Unreadable("cannot list " + root + ": permission denied; " + advice);
    } catch (IOException | DirectoryIteratorException e) {
      return new Unreadable("cannot list " + root + ": " + e.getMessage() + "; " + advice);
    }
    Set<String> present = new HashSet<>();
    int parsed = 0;
    int retries = 0;
    int refused = 0;
    String unreadable = null;
    for (Candidate candidate : candidates) {
      Path path = candidate.path();
      String fileName = candidate.fileName();
      StateFileName name = candidate.name();
      BasicFileAttributes attributes;
      try {
        attributes = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        continue; // removed since the listing
      } catch (IOException e) {
        present.add(fileName); // keeps its previous version
        unreadable = "cannot read " + path + ": " + reason(e) + "; " + advice;
        continue;
      }
      if (!attributes.isRegularFile()) {
        continue;
      }
      present.add(fileName);
      Entry entry = entries.computeIfAbsent(fileName, unused -> new Entry());
      if (entry.file != null && entry.settled && entry.sameAs(attributes)) {
        continue;
      }
      entry.remember(attributes);
      if (attributes.size() > RunscStateFileParser.MAX_BYTES) {
        refused++;
        entry.settled = false;
        failed(entry, path, "larger than " + RunscStateFileParser.MAX_BYTES + " bytes");
        continue;
      }
      Instant readAt = Instant.now();
      byte[] bytes;
      try (InputStream in = Files.newInputStream(path)) {
        bytes = in.readNBytes(RunscStateFileParser.MAX_BYTES + 1);
      } catch (NoSuchFileException e) {
        present.remove(fileName);
        continue;
      } catch (IOException e) {
        unreadable = "cannot read " + path + ": " + reason(e) + "; " + advice;
        entry.settled = false;
        continue;
      }
      RunscStateFileParser.Outcome outcome = RunscStateFileParser.parse(name, bytes);
      if (outcome instanceof RunscStateFileParser.Parsed ok) {
        parsed++;
        entry.file = ok.file();
        entry.failures = 0;
        entry.settled = Duration.between(attributes.lastModifiedTime().toInstant(), readAt)
            .compareTo(SETTLE) >= 0;
      } else if (outcome instanceof RunscStateFileParser.Unusable unusable) {
        retries++;
        entry.settled = false;
        failed(entry, path, unusable.reason());
      }
    }
    entries.keySet().retainAll(present);
    List<RunscStateFile> files = new ArrayList<>();
    for (Entry entry : entries.values()) {
      if (entry.file != null) {
        files.add(entry.file);
      }
    }
    return new Listed(List.copyOf(files), parsed, retries, refused, Optional.ofNullable(unreadable));
  }

  /**
   * The dir's state files: the last listing while the dir's modification time and inode are those it
   * was taken at, and it was taken at least {@link #SETTLE} after that modification; else a new one.
   */
  private List<Candidate> candidates() throws IOException {
    // taken back only when the dir is still the one it was listed from: a poll that fails lists again
    List<Candidate> last = listing;
    listing = null;
    BasicFileAttributes dir = Files.readAttributes(root, BasicFileAttributes.class);
    if (!dir.isDirectory()) {
      throw new NotDirectoryException(root.toString());
    }
    if (last != null && dir.lastModifiedTime().equals(listedModified) && Objects.equals(dir.fileKey(), listedKey)) {
      listing = last;
      return last;
    }
    Instant listedAt = Instant.now();
    List<Candidate> candidates = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
      for (Path path : entries) {
        String fileName = path.getFileName().toString();
        StateFileName.parse(fileName).ifPresent(name -> candidates.add(new Candidate(path, fileName, name)));
      }
    }
    listings++;
    boolean settled = Duration.between(dir.lastModifiedTime().toInstant(), listedAt).compareTo(SETTLE) >= 0;
    listing = settled ? List.copyOf(candidates) : null;
    listedModified = dir.lastModifiedTime();
    listedKey = dir.fileKey();
    return candidates;
  }

  /** A state file found by a listing, its name parsed once. */
  private record Candidate(Path path, String fileName, StateFileName name) {}

  private static void failed(Entry entry, Path path, String reason) {
    entry.failures++;
    if (entry.failures == WARN_AFTER_FAILURES) {
      log.warn("runsc state file {} unusable at {} polls in a row ({}); still retrying", path,
          WARN_AFTER_FAILURES, reason);
    } else {
      log.debug("runsc state file {} unusable ({}); retrying at the next poll", path, reason);
    }
  }

  private static String reason(IOException e) {
    return e instanceof AccessDeniedException ? "permission denied" : String.valueOf(e.getMessage());
  }

  /** One state file as last seen. */
  private static final class Entry {
    FileTime modified;
    long size = -1;
    Object fileKey;
    /** The newest complete version, or null if none parsed yet. */
    RunscStateFile file;
    boolean settled;
    int failures;

    boolean sameAs(BasicFileAttributes attributes) {
      return attributes.size() == size
          && attributes.lastModifiedTime().equals(modified)
          && Objects.equals(attributes.fileKey(), fileKey);
    }

    void remember(BasicFileAttributes attributes) {
      modified = attributes.lastModifiedTime();
      size = attributes.size();
      fileKey = attributes.fileKey();
    }
  }
}
