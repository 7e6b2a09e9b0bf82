namespace RamCoin.Lessons;

/// <summary>
/// The lessons' part of every service: the knobs (<see cref="LessonKnobs"/>, <see cref="KubernetesLessonKnobs"/>), the
/// faults they inject, and the admin API that changes them at run time.
/// </summary>
public static class LessonDefaults
{
    /// <summary>SIGTERM is ignored while any service of the process has <c>RAMCOIN_IGNORE_SIGTERM=true</c>.</summary>
    public static SigtermHold SigtermHold { get; } = new(
        () => LessonProcessFaults.IgnoresSigterm,
        "SIGTERM ignored: RAMCOIN_IGNORE_SIGTERM is true, so only SIGKILL stops this process (Ctrl-C still does).");

    public static WebApplicationBuilder AddLessons(this WebApplicationBuilder builder)
    {
        builder.AddLessonKnobs(ServiceDefaults.ReadinessTag);
        builder.Services.AddAdminApi(builder.Configuration);
        builder.AddKubernetesLessonKnobs();
        builder.Services.AddSingleton(SigtermHold);
        builder.Services.AddSingleton(new DeliberateStop(
            () => LessonProcessFaults.Crashed ? LessonProcessFaults.CrashExitCode : null,
            $"stopped on purpose by RAMCOIN_CRASH_AFTER_S (exit code {LessonProcessFaults.CrashExitCode})."));
        return builder;
    }

    /// <summary>
    /// The injected errors, latency and CPU burn, on the endpoints mapped after this call (probes, metrics and the
    /// admin API stay honest); and the admin API itself.
    /// </summary>
    public static WebApplication UseLessons(this WebApplication app)
    {
        app.UseLessonFaults();
        app.UseLessonCpuBurn();
        app.MapAdminApi();
        return app;
    }
}
