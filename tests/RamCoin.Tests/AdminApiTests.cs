namespace RamCoin.Tests;

/// <summary>
/// The admin API's refusals (each leaving a non-default value unapplied), its pace for wrong tokens, and readiness
/// through the knobs: no meters read, so side by side with the other classes.
/// </summary>
public sealed class AdminApiTests
{
    private const string Token = AdminKnobs.Token;

    [Theory]
    // A value that is not the default (fast: 0), so that a change that wrongly got through shows below.
    [InlineData(null, "Bearer " + Token, "{\"RNG_DELAY_MS\": 250}", 403)] // no token configured: changes refused
    [InlineData(Token, null, "{\"RNG_DELAY_MS\": 250}", 401)]
    [InlineData(Token, "Bearer wrong", "{\"RNG_DELAY_MS\": 250}", 403)]
    [InlineData(Token, "Bearer " + Token + "-and-more", "{\"RNG_DELAY_MS\": 250}", 403)]
    [InlineData(Token, "Basic " + Token, "{\"RNG_DELAY_MS\": 250}", 401)]
    [InlineData(Token, "Bearer " + Token, "{\"RNG_DELAY_MS\": 250, \"RNG_DELAY_MS\": 300}", 400)] // a duplicate key
    [InlineData(Token, "Bearer " + Token, "{\"RNG_DELAY_MS\": -5}", 400)]
    [InlineData(Token, "Bearer " + Token, "{\"RNG_DELAY_MS\": \"soon\"}", 400)]
    [InlineData(Token, "Bearer " + Token, "{\"RNG_CONCURRENCY\": 0}", 400)]
    [InlineData(Token, "Bearer " + Token, "{\"RAMCOIN_ERROR_RATE\": 1.5}", 400)]
    [InlineData(Token, "Bearer " + Token, "{\"HASHER_DELAY_MS\": 5}", 400)] // not an rng knob
    [InlineData(Token, "Bearer " + Token, "[1, 2]", 400)]
    [InlineData(Token, "Bearer " + Token, "not json", 400)]
    public async Task TheAdminApiRefusesWithAProblem(string? configured, string? authorization, string body, int expected)
    {
        await using var rng = await RunningService.StartAsync(
            ServiceNames.Rng, configured is null ? [] : new() { ["RAMCOIN_ADMIN_TOKEN"] = configured }, Profile.Fast);
        using var request = AdminKnobs.Put(body, authorization);
        using var response = await rng.Client.SendAsync(request, Ct);

        await ProblemAssert.IsProblemAsync(response, (HttpStatusCode)expected);
        Assert.Equal("0", (await rng.Client.GetFromJsonAsync<JsonElement>("/admin/knobs", Ct)).GetProperty("RNG_DELAY_MS").GetString());
    }

    /// <summary>The knobs table of docs/lessons.md, service by service: a property marked <c>[Knob]</c> or not shows here.</summary>
    [Theory]
    [InlineData(ServiceNames.Rng, "RNG_DELAY_MS,RNG_CONCURRENCY")]
    [InlineData(ServiceNames.Hasher, "HASHER_DELAY_MS")]
    [InlineData(ServiceNames.Worker, "WORKER_DELAY_MS,DIFFICULTY")]
    [InlineData(ServiceNames.WebUI, "")]
    public async Task EachServiceListsItsOwnKnobsAndTheLessonKnobs(string service, string own)
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var running = await RunningService.StartAsync(service, profile: Profile.Fast, peers: store.Peers());

        var knobs = await running.Client.GetFromJsonAsync<Dictionary<string, string?>>("/admin/knobs", Ct);

        string[] lesson =
        [
            "RAMCOIN_ERROR_RATE", "RAMCOIN_EXTRA_LATENCY_MS", "RAMCOIN_SLOW_START_MS", "RAMCOIN_FORCE_UNREADY",
            "RAMCOIN_CPU_BURN_MS", "RAMCOIN_IGNORE_SIGTERM", "RAMCOIN_LEAK_MB_PER_MINUTE", "RAMCOIN_CRASH_AFTER_S",
        ];
        string[] expected = [.. lesson, .. own.Split(',', StringSplitOptions.RemoveEmptyEntries)];
        Assert.Equal(expected.Order(StringComparer.Ordinal), knobs!.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task TheAdminApiRefusesABodyOverItsLimit()
    {
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, AdminKnobs.Enabled, Profile.Fast);
        var body = $"{{\"RNG_DELAY_MS\": 250, \"RAMCOIN_EXTRA_LATENCY_MS\": \"{new string('0', AdminApi.MaxBodyBytes)}1\"}}";
        using var request = AdminKnobs.Put(body);

        using var response = await rng.Client.SendAsync(request, Ct);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("0", (await rng.Client.GetFromJsonAsync<JsonElement>("/admin/knobs", Ct)).GetProperty("RNG_DELAY_MS").GetString());
    }

    [Theory]
    [InlineData("teach")]
    [InlineData("  fifteen-chars  \n")]
    public async Task AnAdminTokenShorterThan16CharactersStopsTheServiceAtStart(string token)
    {
        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => RunningService.StartAsync(ServiceNames.Rng, new() { ["RAMCOIN_ADMIN_TOKEN"] = token }, Profile.Fast));

        Assert.StartsWith("RAMCOIN_ADMIN_TOKEN must be at least 16 characters", Assert.Single(failure.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongTokensAreAnsweredOneAtATimeWhileTheRightOneGoesStraightThrough()
    {
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, AdminKnobs.Enabled, Profile.Fast);
        var clock = Stopwatch.StartNew();
        var guesses = Enumerable.Range(0, 12).Select(async i =>
        {
            using var answer = await rng.Client.PutKnobsAsync(new() { ["RNG_DELAY_MS"] = 250 }, $"guess-{i}-of-the-teacher-token");
            return (answer.StatusCode, At: clock.Elapsed);
        }).ToList();
        await Task.Delay(100, Ct);

        using var right = await rng.Client.PutKnobsAsync(new() { ["RNG_DELAY_MS"] = 5 });
        var rightAt = clock.Elapsed;
        var answers = await Task.WhenAll(guesses);

        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        var refused = answers.Where(a => a.StatusCode == HttpStatusCode.Forbidden).OrderBy(a => a.At).ToList();
        var turnedAway = answers.Count(a => a.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.Equal(answers.Length, refused.Count + turnedAway);
        // At most 8 guesses wait; the others are turned away at once (429) rather than holding connections.
        Assert.True(turnedAway > 0, "a flood of guesses gets 429s");
        // One at a time, 250 ms each (timers may fire a hair early).
        var spread = refused[^1].At - refused[0].At;
        Assert.True(spread >= AdminApi.FailedAttemptPause * (refused.Count - 1) * 0.9, $"{refused.Count} wrong tokens were answered within {spread.TotalMilliseconds:F0} ms");
        Assert.True(rightAt < refused[^1].At, $"the right token ({rightAt.TotalMilliseconds:F0} ms) did not wait behind the guesses ({refused[^1].At.TotalMilliseconds:F0} ms)");
        Assert.Equal("5", (await rng.Client.GetFromJsonAsync<JsonElement>("/admin/knobs", Ct)).GetProperty("RNG_DELAY_MS").GetString());
    }

    /// <summary>
    /// Invalid changes sent in pairs while others read: each is refused with 400 and changes nothing, and no other
    /// request sees it (before: the pairs' put-back raced, an invalid value stayed, and every path answered 500).
    /// </summary>
    [Theory]
    [InlineData(ServiceNames.Rng, "RNG_DELAY_MS", "/32")]
    [InlineData(ServiceNames.Hasher, "RAMCOIN_EXTRA_LATENCY_MS", "/")]
    [InlineData(ServiceNames.Worker, "WORKER_DELAY_MS", "/status")]
    public async Task ConcurrentInvalidChangesAreRefusedAndNeverSeenByOtherRequests(string service, string knob, string path)
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var running = await RunningService.StartAsync(service, AdminKnobs.Enabled, Profile.Fast, store.Peers());
        var before = (await running.Client.GetFromJsonAsync<JsonElement>("/admin/knobs", Ct)).GetProperty(knob).GetString();
        using var done = new CancellationTokenSource(TimeSpan.FromSeconds(2));

        async Task<List<HttpStatusCode>> ChangeAsync()
        {
            var statuses = new List<HttpStatusCode>();
            while (!done.IsCancellationRequested)
            {
                using var request = AdminKnobs.Put($"{{\"{knob}\": -1}}");
                using var answer = await running.Client.SendAsync(request, Ct);
                statuses.Add(answer.StatusCode);
            }

            return statuses;
        }

        async Task<List<HttpStatusCode>> ReadAsync(string target)
        {
            var statuses = new List<HttpStatusCode>();
            while (!done.IsCancellationRequested)
            {
                using var answer = target == "/" && service == ServiceNames.Hasher
                    ? await running.Client.PostAsync("/", new ByteArrayContent([1]), Ct)
                    : await running.Client.GetAsync(target, Ct);
                statuses.Add(answer.StatusCode);
            }

            return statuses;
        }

        var changing = Task.WhenAll(ChangeAsync(), ChangeAsync());
        var reading = Task.WhenAll(ReadAsync("/healthz"), ReadAsync(path), ReadAsync("/admin/knobs"));
        var changes = await changing;
        var reads = await reading;
        Assert.All(changes.SelectMany(c => c), s => Assert.Equal(HttpStatusCode.BadRequest, s));
        Assert.All(reads.SelectMany(r => r), s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(HttpStatusCode.OK, (await running.Client.GetAsync("/healthz", Ct)).StatusCode);
        Assert.Equal(before, (await running.Client.GetFromJsonAsync<JsonElement>("/admin/knobs", Ct)).GetProperty(knob).GetString());
        // The worker's background loops read the knobs too: an invalid value would have stopped them (and the host).
        Assert.False(running.Get<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested, $"{service} is stopping");
    }

    [Fact]
    public async Task ReadinessFollowsTheSlowStartAndForcedUnreadyKnobs()
    {
        await using var hasher = await RunningService.StartAsync(
            ServiceNames.Hasher, new() { ["RAMCOIN_SLOW_START_MS"] = "1500", ["RAMCOIN_ADMIN_TOKEN"] = Token }, Profile.Fast);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await hasher.Client.GetAsync("/readyz", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await hasher.Client.GetAsync("/healthz", Ct)).StatusCode);
        await Eventually.TrueAsync(async () => (await hasher.Client.GetAsync("/readyz", Ct)).StatusCode == HttpStatusCode.OK, "ready after the slow start");

        using var change = await hasher.Client.PutKnobsAsync(new() { ["RAMCOIN_FORCE_UNREADY"] = true });
        Assert.Equal(HttpStatusCode.OK, change.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await hasher.Client.GetAsync("/readyz", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await hasher.Client.GetAsync("/healthz", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await hasher.Client.PostAsync("/", new ByteArrayContent([1]), Ct)).StatusCode);
    }
}
