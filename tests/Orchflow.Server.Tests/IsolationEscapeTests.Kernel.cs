namespace Orchflow.Server.Tests;

public sealed partial class IsolationEscapeTests
{
    private static readonly Attack[] KernelAttacks =
    [
    ];
}
