using System.Diagnostics;

namespace RamCoin.Hosting;

/// <summary>
/// One line per request (RAMCOIN_ACCESS_LOG=true): the course's DaemonSet lesson watches which pod serves
/// which calls with <c>kubectl logs</c>.
/// </summary>
public static class AccessLog
{
    public static void UseAccessLog(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RamCoin.AccessLog");
        app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                logger.LogInformation(
                    "{Method} {Path} {Status} {Milliseconds:F1} ms from {Client}",
                    context.Request.Method,
                    context.Request.Path.Value,
                    context.Response.StatusCode,
                    Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                    context.Connection.RemoteIpAddress);
            }
        });
    }
}
