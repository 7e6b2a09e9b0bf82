using System.Net.Http.Headers;

namespace RamCoin.Tests.Infrastructure;

/// <summary>Knob changes as the teacher sends them: <c>PUT /admin/knobs</c> (or the web UI's <c>/knobs/&lt;service&gt;</c>) with a bearer token.</summary>
public static class AdminKnobs
{
    /// <summary>A teacher's token (the admin API wants 16 characters or more): set it as RAMCOIN_ADMIN_TOKEN, send it here.</summary>
    public const string Token = "s3cret-teacher-token";

    /// <summary>The settings that turn a service's admin API on with <see cref="Token"/>.</summary>
    public static Dictionary<string, string?> Enabled => new() { ["RAMCOIN_ADMIN_TOKEN"] = Token };

    /// <summary>A PUT of <paramref name="body"/> (JSON) with the Authorization header as given, sent as is (null: none).</summary>
    public static HttpRequestMessage Put(string body, string? authorization = "Bearer " + Token, string path = "/admin/knobs")
    {
        var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return request;
    }

    public static async Task<HttpResponseMessage> PutKnobsAsync(this HttpClient client, Dictionary<string, object> knobs, string token = Token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "/admin/knobs") { Content = JsonContent.Create(knobs) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request, TestCancellation.Ct);
    }

    /// <summary>Changes knobs and checks the answer's status (the body is in the failure message).</summary>
    public static async Task<HttpResponseMessage> PutKnobsAsync(this HttpClient client, Dictionary<string, object> knobs, HttpStatusCode expected, string token = Token)
    {
        var response = await client.PutKnobsAsync(knobs, token);
        Assert.True(
            response.StatusCode == expected,
            $"PUT /admin/knobs answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(TestCancellation.Ct)}");
        return response;
    }

    /// <summary>Changes knobs; fails with the answer unless it is 200.</summary>
    public static async Task ChangeKnobsAsync(this HttpClient client, Dictionary<string, object> knobs, string token = Token)
    {
        using var response = await client.PutKnobsAsync(knobs, HttpStatusCode.OK, token);
    }
}
