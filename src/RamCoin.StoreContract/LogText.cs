using System.Text;

namespace RamCoin.StoreContract;

/// <summary>
/// Text from the store (keys, field names, instance names: anyone may write them) made safe for a log line:
/// control characters escaped, so that a crafted name cannot end the line, forge another or colour the terminal.
/// </summary>
public static class LogText
{
    public static string Escape(string? text)
    {
        if (text is null || !text.Any(char.IsControl))
        {
            return text ?? "";
        }

        var escaped = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            escaped.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }

        return escaped.ToString();
    }
}
