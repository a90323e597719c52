import SystemPackage

/// Plain file-system operations the layers above the store need (creating a store's directory,
/// checking a restore target, removing scratch files), so that no module above the store reaches
/// for Foundation's file APIs or libc. Symlinks are never followed by the removals.
public enum LocalFiles {
    /// What is at a path.
    public enum Entry: Sendable, Equatable {
        /// Nothing (not even a dangling symlink).
        case absent
        /// A directory with nothing in it.
        case emptyDirectory
        /// A directory with something in it.
        case directory
        /// A file, symlink, FIFO, device or socket.
        case other
    }

    /// What is at `path`. A symlink is `.other`, whatever it points to, unless
    /// `followingSymlink` (then it is what it points to, and `.absent` if that is missing).
    public static func entry(_ path: String, followingSymlink: Bool = false) throws -> Entry {
        let status: Sys.Status
        do { status = try followingSymlink ? Sys.status(path) : Sys.linkStatus(path) } catch .noSuchFileOrDirectory {
            return .absent
        } catch {
            throw StoreError.io(error, path: path, "cannot look at \(path)")
        }
        guard status.isDirectory, !status.isSymlink else { return .other }
        return try list(path).isEmpty ? .emptyDirectory : .directory
    }

    /// Names in the directory at `path`, without "." and ".."; a missing directory lists as empty.
    public static func list(_ path: String) throws -> [String] {
        do { return try Sys.list(path) } catch {
            throw StoreError.io(error, path: path, "cannot list \(path)")
        }
    }

    /// Creates the directory at `path` and any missing parents (`mkdir -p`); one that exists is
    /// fine, and so is a symlink to one (a home or data directory on another volume).
    public static func createDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            do { try Sys.mkdir(prefix) } catch {
                throw StoreError.io(error, path: path, "cannot create the directory \(path)")
            }
        }
        // What is there now (a symlink followed); its contents are none of this call's business.
        guard (try? Sys.status(path))?.isDirectory == true else {
            throw StoreError(.exists, "\(path) exists and is not a directory", path: path)
        }
    }

    /// Removes a file the caller made (a temporary file); missing is not an error.
    public static func remove(_ path: String) throws {
        do { try Sys.unlink(path) } catch .noSuchFileOrDirectory {} catch {
            throw StoreError.io(error, path: path, "cannot remove \(path)")
        }
    }

    /// Removes `path` and, if it is a directory (not a symlink to one), everything below it.
    /// Missing is not an error.
    public static func removeTree(_ path: String) throws {
        let status: Sys.Status
        do { status = try Sys.linkStatus(path) } catch .noSuchFileOrDirectory { return } catch {
            throw StoreError.io(error, path: path, "cannot remove \(path)")
        }
        guard status.isDirectory, !status.isSymlink else { return try remove(path) }
        for name in try list(path) { try removeTree(path + "/" + name) }
        do { try Sys.rmdir(path) } catch .noSuchFileOrDirectory {} catch {
            throw StoreError.io(error, path: path, "cannot remove \(path)")
        }
    }

    /// A path in `directory` that nothing uses yet: `<prefix><32 random hex digits><suffix>`.
    public static func uniquePath(in directory: String, prefix: String, suffix: String = "") -> String {
        directory + "/" + prefix + Sys.randomToken() + suffix
    }
}
