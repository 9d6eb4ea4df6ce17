using System.Runtime.Versioning;

// These tests drive the Linux backend and read /proc: they are Linux-only by nature.
[assembly: SupportedOSPlatform("linux")]
