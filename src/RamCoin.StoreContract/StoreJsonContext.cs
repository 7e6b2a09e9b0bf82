using System.Text.Json.Serialization;

namespace RamCoin.StoreContract;

/// <summary>The one serializer of the records in the store: the worker writes with it, the web UI and the bench read with it.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(WorkerReport))]
[JsonSerializable(typeof(RecentCoin))]
public sealed partial class StoreJsonContext : JsonSerializerContext;
