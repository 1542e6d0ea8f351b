/// What this build of dfs calls itself: `dfs --version` prints it, and every server's
/// metrics carry it (`dfs_build_info{version=...}`).
public enum BuildInfo {
    public static let version = "0.8.0"
}
