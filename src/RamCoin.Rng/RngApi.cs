namespace RamCoin.Rng;

public static class RngApi
{
    public static WebApplicationBuilder AddRng(this WebApplicationBuilder builder)
    {
        builder.AddServiceOptions<RngOptions, RngOptionsValidator>(RngOptions.Fast, (c, o) => c.Bind(o));
        builder.Services.AddServiceCapacity<RngOptions>(o => o.Concurrency, o => o.DelayMs);
        builder.Services.AddSingleton<RngGate>();
        builder.Services.AddSingleton<RngMetrics>();
        return builder;
    }

    public static RouteGroupBuilder MapRngApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapApiGroup(ServiceNames.Rng);
        group.MapGet("/{count}", GetRandomBytesAsync)
            .WithName("GetRandomBytes").WithSummary("count random bytes (0 to 1,048,576), after RNG_DELAY_MS, at most RNG_CONCURRENCY at once")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return group;
    }

    private static async Task<IResult> GetRandomBytesAsync(
        string count, RngGate gate, RngMetrics metrics, IOptionsMonitor<RngOptions> options, CancellationToken cancellationToken)
    {
        if (!int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > RngOptions.MaxBytes)
        {
            return ServiceHost.Problem(
                StatusCodes.Status400BadRequest,
                "Invalid byte count",
                $"'{Truncate(count)}' is not a whole number of bytes from 0 to {RngOptions.MaxBytes}.");
        }

        using var lease = await gate.EnterAsync(cancellationToken);
        if (!lease.IsAcquired)
        {
            return ServiceHost.Problem(
                StatusCodes.Status503ServiceUnavailable,
                "rng is overloaded",
                "Too many requests are waiting in line (RNG_QUEUE_LIMIT); try again later.");
        }

        metrics.Active.Add(1);
        try
        {
            var delay = options.CurrentValue.DelayMs;
            if (delay > 0)
            {
                await Task.Delay(delay, cancellationToken);
            }

            metrics.Bytes.Add(n);
            return n <= RandomBytesResult.ChunkBytes ? TypedResults.Bytes(RandomBytes.Get(n), "application/octet-stream") : new RandomBytesResult(n);
        }
        finally
        {
            metrics.Active.Add(-1);
        }
    }

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
