#if canImport(Glibc)
    import Glibc
#endif

// A peer that closes its socket must give us an error from send(2), not kill the process.
signal(SIGPIPE, SIG_IGN)
await DFSCommand.main()
