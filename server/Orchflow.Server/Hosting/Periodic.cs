namespace Orchflow.Server.Hosting;

/// <summary>
/// The daemon's periodic work (the governor's watchdog, the resource figures, the agent queues, the config poll, memory
/// maintenance): a tick every interval on the given clock until cancelled. A tick that throws is logged and the next
/// one runs, so one bad pass never stops the loop.
/// </summary>
internal static class Periodic
{
    /// <param name="failure">The log line of a tick that threw (the exception follows it).</param>
    public static async Task RunAsync(TimeSpan interval, TimeProvider time, Action tick, Log log, string failure, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    tick();
                }
                catch (Exception ex)
                {
                    log.Error(failure, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
