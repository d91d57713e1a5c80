using System.Text;
using Liminal.Actors.Dedup;

namespace Liminal.Actors.Channels;

/// <summary>A publish's receipt: where its message is, as UTF-8 JSON <c>{"channel","partition","sequenceNr"}</c> (SPEC §2.4).</summary>
public static class Receipts
{
    /// <summary><paramref name="sequenceNr"/> is null on an ephemeral channel. Channel names need no JSON escaping (<see cref="Validation.RequestValidation.ChannelDefinitionProblems"/>).</summary>
    public static ProcessingReceipt For(string channel, int partition, long? sequenceNr) =>
        new(Encoding.UTF8.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $$"""{"channel":"{{channel}}","partition":{{partition}},"sequenceNr":{{(sequenceNr is { } n ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : "null")}}}""")));
}
