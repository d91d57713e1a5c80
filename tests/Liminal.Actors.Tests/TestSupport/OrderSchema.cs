namespace Liminal.Actors.Tests.TestSupport;

/// <summary>A JSON Schema file for order messages, written once per test run.</summary>
public static class OrderSchema
{
    private static readonly Lazy<string> File = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), "liminal-tests", Environment.ProcessId.ToString(), "order.schema.json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllText(path, """
            {
              "type": "object",
              "required": ["orderId"],
              "properties": { "orderId": { "type": "string" }, "amount": { "type": "number", "minimum": 0 } }
            }
            """);
        return path;
    });

    public static string FilePath => File.Value;

    /// <summary>The order id in a delivered order's payload.</summary>
    public static string OrderIdOf(Liminal.Actors.Channels.Delivery delivery) =>
        System.Text.Json.JsonDocument.Parse(delivery.Envelope.Payload).RootElement.GetProperty("orderId").GetString()!;

    public static byte[] Order(string id) => System.Text.Encoding.UTF8.GetBytes($$"""{"orderId":"{{id}}","amount":1}""");
}
