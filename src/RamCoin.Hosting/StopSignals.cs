using System.Runtime.InteropServices;

namespace RamCoin.Hosting;

/// <summary>
/// Ctrl-C (SIGINT), SIGQUIT and SIGTERM stop the process gracefully, as .NET's console lifetime does; but SIGTERM is
/// ignored while <c>RAMCOIN_IGNORE_SIGTERM</c> is on in any service of the process, so that only SIGKILL stops it
/// (the grace-period lesson). Ctrl-C always stops it. Used by a service's own binary and by the launcher.
/// </summary>
public sealed class StopSignals : IDisposable
{
    private readonly PosixSignalRegistration[] _registrations;

    private StopSignals(Action<PosixSignal> stop, Action<string> warn)
    {
        void Handle(PosixSignalContext context)
        {
            // Handled here either way: the runtime's default for SIGTERM would end the process at once.
            context.Cancel = true;
            if (context.Signal == PosixSignal.SIGTERM && LessonProcessFaults.IgnoresSigterm)
            {
                warn("SIGTERM ignored: RAMCOIN_IGNORE_SIGTERM is true, so only SIGKILL stops this process (Ctrl-C still does).");
                return;
            }

            stop(context.Signal);
        }

        _registrations = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGTERM }.Select(s => PosixSignalRegistration.Create(s, Handle))];
    }

    /// <summary>Calls <paramref name="stop"/> with the signal that asks the process to stop.</summary>
    public static StopSignals Register(Action<PosixSignal> stop, Action<string> warn) => new(stop, warn);

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }
}

/// <summary>A service's own binary: stopped by <see cref="StopSignals"/> instead of the console lifetime.</summary>
public sealed class StopSignalsLifetime(IHostApplicationLifetime lifetime, ILogger<StopSignalsLifetime> logger) : IHostLifetime, IDisposable
{
    private StopSignals? _signals;

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        _signals = StopSignals.Register(_ => lifetime.StopApplication(), message => logger.LogWarning("{Message}", message));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _signals?.Dispose();
}
