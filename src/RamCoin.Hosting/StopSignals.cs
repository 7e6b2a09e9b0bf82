using System.Runtime.InteropServices;

namespace RamCoin.Hosting;

/// <summary>
/// Ctrl-C (SIGINT), SIGQUIT and SIGTERM stop the process gracefully, as .NET's console lifetime does; but SIGTERM is
/// ignored while a <see cref="SigtermHold"/> holds (the lessons' <c>RAMCOIN_IGNORE_SIGTERM</c>), so that only SIGKILL
/// stops it (the grace-period lesson). Ctrl-C always stops it. Used by a service's own binary and by the launcher.
/// </summary>
public sealed class StopSignals : IDisposable
{
    private readonly PosixSignalRegistration[] _registrations;

    private StopSignals(Action<PosixSignal> stop, Action<string> warn, SigtermHold? hold)
    {
        void Handle(PosixSignalContext context)
        {
            // Handled here either way: the runtime's default for SIGTERM would end the process at once.
            context.Cancel = true;
            if (context.Signal == PosixSignal.SIGTERM && hold is not null && hold.Holds())
            {
                warn(hold.Warning);
                return;
            }

            stop(context.Signal);
        }

        _registrations = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGTERM }.Select(s => PosixSignalRegistration.Create(s, Handle))];
    }

    /// <summary>Calls <paramref name="stop"/> with the signal that asks the process to stop.</summary>
    public static StopSignals Register(Action<PosixSignal> stop, Action<string> warn, SigtermHold? hold = null) => new(stop, warn, hold);

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }
}

/// <summary>A service's own binary: stopped by <see cref="StopSignals"/> instead of the console lifetime.</summary>
public sealed class StopSignalsLifetime(IHostApplicationLifetime lifetime, ILogger<StopSignalsLifetime> logger, IServiceProvider services) : IHostLifetime, IDisposable
{
    private StopSignals? _signals;

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        _signals = StopSignals.Register(_ => lifetime.StopApplication(), message => logger.LogWarning("{Message}", message), services.GetService<SigtermHold>());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _signals?.Dispose();
}

/// <summary>While <paramref name="Holds"/> says so, SIGTERM does not stop the process; <paramref name="Warning"/> says why.</summary>
public sealed record SigtermHold(Func<bool> Holds, string Warning);

/// <summary>
/// A stop a part of the service made on purpose: once <paramref name="ExitCode"/> gives one, the process exits with it
/// and prints <paramref name="Message"/> (1 and 2 are taken: a failed start, bad settings).
/// </summary>
public sealed record DeliberateStop(Func<int?> ExitCode, string Message);
