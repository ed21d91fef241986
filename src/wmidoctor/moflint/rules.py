"""The lint rules: stable ids, default severity, and the one-line and longer explanations that the
text, JSON and SARIF outputs share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str  # error | warning | info
    short: str
    help: str


@dataclass(frozen=True)
class LintFinding:
    rule: str
    severity: str
    message: str
    path: str
    line: int
    column: int
    source_line: str = ""
    caret: str = ""  # the source line with a caret under the column, for syntax errors

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule)


SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

_RULES = (
    Rule("MOF-SYNTAX", "error", "MOF syntax error",
         "The file is not valid MOF at this point; mofcomp stops here (exit code 3) and everything after the "
         "error is not compiled. The message says what the parser expected."),
    Rule("MOF-PREPROCESSOR", "error", "C preprocessor directive in a MOF file",
         "#include/#define/#if lines are C preprocessor directives, not MOF. WDK builds run such files "
         "through the C preprocessor before mofcomp; lint the preprocessed output (cl /EP) instead."),
    Rule("MOF-ENCODING", "warning", "File encoding guessed",
         "The file is neither UTF-8 nor UTF-16 with a byte order mark; it was read in a legacy code page. "
         "Save MOF files as UTF-8 or as UTF-16 with a BOM so mofcomp reads the same characters."),
    Rule("MOF-BINARY", "error", "Binary file, not MOF text",
         "The file holds NUL bytes, which MOF text (UTF-8, ANSI or UTF-16 with or without a BOM) never does: it "
         "may be a compiled binary MOF (.bmf), an archive or a damaged copy. Lint the MOF source instead."),
    Rule("MOF-PROVIDER-MISSING", "error", "Dynamic class names a provider that is not registered",
         "A [dynamic, provider(\"X\")] class needs an instance of __Win32Provider named X in the same "
         "namespace; without it WMI answers 0x80041011 (WBEM_E_PROVIDER_NOT_FOUND). Lint the MOF that "
         "registers the provider together with this one, or add the registration."),
    Rule("MOF-DYNAMIC-NO-PROVIDER", "error", "Dynamic class without a provider qualifier",
         "A class marked [dynamic] is served by a provider; without provider(\"Name\") WMI cannot tell "
         "which one, and queries fail with 0x80041012 (WBEM_E_INVALID_PROVIDER_REGISTRATION)."),
    Rule("MOF-REGISTRATION-MISSING", "error", "Provider has no registration for the classes it serves",
         "Besides the __Win32Provider instance, WMI needs a registration object (__InstanceProviderRegistration, "
         "__MethodProviderRegistration, __EventProviderRegistration, ...) whose Provider points at it; "
         "otherwise the provider is never asked for the class's instances or methods."),
    Rule("MOF-PROVIDER-UNUSED", "warning", "Provider registered but nothing routes to it",
         "A __Win32Provider instance with no registration object pointing at it serves nothing: WMI never "
         "loads it. Add the registration instance(s) for the roles it implements."),
    Rule("MOF-REGISTRATION-DANGLING", "error", "Registration points at no provider",
         "The registration's Provider property must refer to a __Win32Provider instance, by alias ($P) or by "
         "object path (__Win32Provider.Name=\"X\"), declared in the same namespace."),
    Rule("MOF-CLSID-MISSING", "error", "Provider without a CLSID",
         "A COM provider's __Win32Provider instance needs CLSID, the class id of its COM server; WMI cannot "
         "load it otherwise (0x80041013). Decoupled providers (HostingModel Decoupled:Com) are exempt."),
    Rule("MOF-CLSID-MALFORMED", "error", "CLSID is not a GUID in braces",
         "CLSID must be written {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx} (hexadecimal, with braces); "
         "anything else never matches the COM registration and the provider fails to load."),
    Rule("MOF-HOSTING-UNKNOWN", "error", "Unknown HostingModel",
         "HostingModel must be one of NetworkServiceHost, LocalServiceHost, LocalSystemHost, "
         "LocalSystemHostOrSelfHost, NetworkServiceHostOrSelfHost, SelfHost or Decoupled:Com (optionally "
         "followed by :GroupName, or :FoldIdentity(TRUE|FALSE) for Decoupled:Com). An invalid value "
         "makes the registration invalid (0x80041012)."),
    Rule("MOF-HOSTING-RESERVED", "error", "Hosting model reserved for Windows",
         "WmiCore, WmiCoreOrSelfHost and Decoupled:Noncom are for operating system components only; "
         "registering a provider with them is refused with access denied."),
    Rule("MOF-HOSTING-PRIVILEGED", "warning", "Provider hosted with high privilege",
         "LocalSystemHost runs the provider as LocalSystem in a shared WmiPrvSE (Windows logs event 63 "
         "for it), and Decoupled:Com:FoldIdentity(FALSE) lets a decoupled provider impersonate its callers. "
         "Use NetworkServiceHost or LocalServiceHost unless the provider truly needs more, and "
         "impersonate the client for privileged work."),
    Rule("MOF-HOSTING-DEFAULT", "info", "No HostingModel: the default applies",
         "Without HostingModel, Windows Vista and later host the provider as NetworkServiceHostOrSelfHost; "
         "a provider written for LocalSystem then misbehaves. State the hosting model explicitly."),
    Rule("MOF-AUTORECOVER-MISSING", "warning", "No #pragma autorecover",
         "When WMI rebuilds a damaged repository it recompiles only the MOFs on its autorecover list "
         "(HKLM\\SOFTWARE\\Microsoft\\WBEM\\CIMOM, value Autorecover MOFs). A MOF without #pragma "
         "autorecover that registers providers or declares classes is lost on a rebuild and must be "
         "recompiled by hand; put #pragma autorecover on the first line."),
    Rule("MOF-NAMESPACE-MISSING", "warning", "No #pragma namespace",
         "Without #pragma namespace the classes and instances land wherever mofcomp was pointed (-N:, or "
         "root\\default). Autorecovery replays no command-line switches, so a rebuild puts them in "
         "root\\default. Add #pragma namespace(\"\\\\\\\\.\\\\root\\\\...\") before the first declaration."),
    Rule("MOF-NAMESPACE-MALFORMED", "error", "Malformed namespace path",
         "Inside a MOF string every backslash is written twice: \\\\\\\\.\\\\root\\\\cimv2 reads as "
         "\\\\.\\root\\cimv2. A path with single backslashes, empty elements or characters outside "
         "letters, digits and underscore names a namespace that does not exist."),
    Rule("MOF-DUPLICATE-CLASS", "warning", "Class declared twice",
         "The same class is declared twice in one namespace; the later declaration silently replaces the "
         "earlier one (or fails when it conflicts and instances exist)."),
    Rule("MOF-DUPLICATE-ALIAS", "error", "Alias declared twice",
         "An alias ($Name) must be unique within a MOF file; references to it become ambiguous."),
    Rule("MOF-KEY-MISSING", "error", "Instances of a class without key properties",
         "Instances of a class need [key] properties to be told apart (or the class must be [singleton]); "
         "mofcomp refuses such instances."),
    Rule("MOF-UNDECLARED-CLASS", "warning", "Class not declared in the linted files",
         "The class is neither declared in the linted files nor a standard class (system __ classes, CIM_, "
         "Win32_, MSFT_, standard consumers). mofcomp fails unless it already exists in the target "
         "namespace; lint the file that declares it together with this one."),
    Rule("MOF-UNDECLARED-ALIAS", "error", "Alias not declared",
         "An alias ($Name) is used as a value but no `instance of ... as $Name` precedes it in the file; "
         "mofcomp cannot resolve the reference."),
    Rule("MOF-FLAVOR-CONFLICT", "warning", "Contradicting qualifier flavours",
         "A qualifier carries flavours that cancel each other (ToSubclass with Restricted or NotToSubclass, "
         "ToInstance with NotToInstance, EnableOverride with DisableOverride)."),
    Rule("MOF-METHOD-NOT-IMPLEMENTED", "warning", "Method of a dynamic class without [implemented]",
         "WMI only calls a provider for methods marked [implemented]; others fail with 0x80041055 "
         "(WBEM_E_METHOD_NOT_IMPLEMENTED)."),
)
RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}
