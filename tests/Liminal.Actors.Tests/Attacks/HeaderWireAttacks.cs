using System.Text;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// Header names are JSON property names on the wire, which System.Text.Json writes and reads without the converter that
/// carries every other string exactly: a name that is not well-formed UTF-16 must still cross the wire as sent (so the
/// bus rejects it, typed), never throw in the serializer (Akka.Remote would drop the message: no answer at all).
/// </summary>
public sealed class HeaderWireAttacks : LiminalTestKit
{
    private object RoundTrip(object message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        var bytes = serializer.ToBinary(message);
        return Sys.Serialization.Deserialize(bytes, serializer.Identifier, Akka.Serialization.Serialization.ManifestFor(serializer, message));
    }

    [Theory]
    [InlineData("x\ud800")]
    [InlineData("\udc00tenant")]
    [InlineData("a\"b\\c")]
    [InlineData("n\u0000l")]
    [InlineData("caf\u00e9 \ud83d\ude00")]
    public void A_header_name_crosses_the_wire_exactly_as_sent(string name)
    {
        var publish = new Publish("orders", new MessageEnvelope("{}"u8.ToArray(), "shop", Headers: new Dictionary<string, string> { [name] = "v", ["x-ok"] = "\ud800" }));

        var received = Assert.IsType<Publish>(RoundTrip(publish));

        Assert.Equal(publish.Envelope.Headers!.OrderBy(h => h.Key, StringComparer.Ordinal), received.Envelope.Headers!.OrderBy(h => h.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void A_header_name_of_bytes_that_are_not_UTF8_decodes_to_a_name_the_bus_rejects()
    {
        var serializer = Sys.Serialization.FindSerializerForType(typeof(Publish));
        var json = Encoding.UTF8.GetBytes("""{"channel":"orders","envelope":{"payload":"e30=","publisherId":"shop","causal":null,"headers":{"xQ":"v"}},"idempotencyKey":null,"partitionKey":null}""");
        json[Array.IndexOf(json, (byte)'Q')] = 0xFF;

        var received = Assert.IsType<Publish>(Sys.Serialization.Deserialize(json, serializer.Identifier, "Channels.Publish"));

        var name = Assert.Single(received.Envelope.Headers!).Key;
        Assert.NotNull(Liminal.Actors.Validation.InputRules.HeadersProblem(received.Envelope.Headers));
        Assert.StartsWith("x", name);
    }
}
