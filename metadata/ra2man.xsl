<?xml version="1.0"?>
<!-- ra2man.xsl: turns an OCF agent's meta-data (ra-api-1.dtd) into a man(7) page,
     as resource-agents does for its agents (ocf_<provider>_<agent>.7). -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text" encoding="UTF-8"/>
  <xsl:param name="provider" select="'ferry'"/>
  <xsl:param name="date" select="''"/>

  <!-- troff: a leading dot or quote starts a request, backslash escapes. -->
  <xsl:template name="esc">
    <xsl:param name="s"/>
    <xsl:variable name="t" select="normalize-space($s)"/>
    <!-- the text's own start only: the pieces replace recurses on are mid-line -->
    <xsl:if test="starts-with($t, '.') or starts-with($t, &quot;'&quot;)">\&amp;</xsl:if>
    <xsl:call-template name="replace">
      <xsl:with-param name="s" select="$t"/>
    </xsl:call-template>
  </xsl:template>
  <xsl:template name="replace">
    <xsl:param name="s"/>
    <xsl:choose>
      <xsl:when test="contains($s, '\')">
        <xsl:value-of select="substring-before($s, '\')"/>
        <xsl:text>\e</xsl:text>
        <xsl:call-template name="replace">
          <xsl:with-param name="s" select="substring-after($s, '\')"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:when test="contains($s, '-')">
        <xsl:value-of select="substring-before($s, '-')"/>
        <xsl:text>\-</xsl:text>
        <xsl:call-template name="replace">
          <xsl:with-param name="s" select="substring-after($s, '-')"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise>
        <xsl:value-of select="$s"/>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="/resource-agent">
    <xsl:text>.TH OCF_</xsl:text>
    <xsl:value-of select="translate($provider, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')"/>
    <xsl:text>_</xsl:text>
    <xsl:value-of select="translate(@name, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')"/>
    <xsl:text> 7 "</xsl:text><xsl:value-of select="$date"/>
    <xsl:text>" "ferry </xsl:text><xsl:value-of select="@version"/>
    <xsl:text>" "OCF resource agents"&#10;</xsl:text>
    <xsl:text>.SH NAME&#10;ocf_</xsl:text><xsl:value-of select="$provider"/>
    <xsl:text>_</xsl:text><xsl:value-of select="@name"/><xsl:text> \- </xsl:text>
    <xsl:call-template name="esc"><xsl:with-param name="s" select="shortdesc"/></xsl:call-template>
    <xsl:text>&#10;.SH SYNOPSIS&#10;.B </xsl:text>
    <xsl:for-each select="parameters/parameter">
      <xsl:text>[OCF_RESKEY_</xsl:text><xsl:value-of select="@name"/><xsl:text>=</xsl:text>
      <xsl:value-of select="content/@type"/><xsl:text>] </xsl:text>
    </xsl:for-each>
    <xsl:value-of select="@name"/>
    <xsl:text> [</xsl:text>
    <xsl:for-each select="actions/action[not(@name = preceding-sibling::action/@name)]">
      <xsl:if test="position() &gt; 1"> | </xsl:if>
      <xsl:value-of select="@name"/>
    </xsl:for-each>
    <xsl:text>]&#10;.SH DESCRIPTION&#10;</xsl:text>
    <xsl:call-template name="esc"><xsl:with-param name="s" select="longdesc"/></xsl:call-template>
    <xsl:text>&#10;.SH SUPPORTED PARAMETERS&#10;</xsl:text>
    <xsl:for-each select="parameters/parameter">
      <xsl:text>.TP&#10;.B </xsl:text><xsl:value-of select="@name"/><xsl:text>&#10;</xsl:text>
      <xsl:call-template name="esc"><xsl:with-param name="s" select="shortdesc"/></xsl:call-template>
      <xsl:text>.&#10;.sp&#10;</xsl:text>
      <xsl:call-template name="esc"><xsl:with-param name="s" select="longdesc"/></xsl:call-template>
      <xsl:text>&#10;.sp&#10;(</xsl:text>
      <xsl:if test="@unique = '1'">unique, </xsl:if>
      <xsl:choose>
        <xsl:when test="@required = '1'">required, </xsl:when>
        <xsl:otherwise>optional, </xsl:otherwise>
      </xsl:choose>
      <xsl:choose>
        <xsl:when test="content/@type = 'select'">
          <xsl:text>one of </xsl:text>
          <xsl:for-each select="content/option">
            <xsl:if test="position() &gt; 1"><xsl:text>, </xsl:text></xsl:if>
            <xsl:value-of select="@value"/>
          </xsl:for-each>
        </xsl:when>
        <xsl:otherwise><xsl:value-of select="content/@type"/></xsl:otherwise>
      </xsl:choose>
      <xsl:if test="content/@default">
        <xsl:text>, default "</xsl:text>
        <xsl:call-template name="esc"><xsl:with-param name="s" select="content/@default"/></xsl:call-template>
        <xsl:text>"</xsl:text>
      </xsl:if>
      <xsl:if test="@reloadable = '1'">, reloadable</xsl:if>
      <xsl:if test="deprecated/replaced-with">
        <xsl:text>, deprecated: use </xsl:text>
        <xsl:value-of select="deprecated/replaced-with/@name"/>
      </xsl:if>
      <xsl:text>)&#10;</xsl:text>
    </xsl:for-each>
    <xsl:text>.SH SUPPORTED ACTIONS&#10;This resource agent supports the following actions (operations):&#10;</xsl:text>
    <xsl:for-each select="actions/action">
      <xsl:text>.TP&#10;.B </xsl:text><xsl:value-of select="@name"/><xsl:text>&#10;</xsl:text>
      <xsl:text>Suggested minimum timeout: </xsl:text><xsl:value-of select="@timeout"/>
      <xsl:text>.</xsl:text>
      <xsl:if test="@interval">
        <xsl:text> Suggested interval: </xsl:text><xsl:value-of select="@interval"/><xsl:text>.</xsl:text>
      </xsl:if>
      <xsl:text>&#10;</xsl:text>
    </xsl:for-each>
    <xsl:text>.SH EXAMPLE CRM SHELL&#10;.nf&#10;primitive p_vm1 ocf:</xsl:text>
    <xsl:value-of select="$provider"/><xsl:text>:</xsl:text><xsl:value-of select="@name"/>
    <xsl:text> \e&#10;  params config="/shared/vm1.xml" name="vm1" \e&#10;</xsl:text>
    <xsl:for-each select="actions/action[@name='start' or @name='stop' or @name='monitor']">
      <xsl:text>  op </xsl:text><xsl:value-of select="@name"/>
      <xsl:text> timeout="</xsl:text><xsl:value-of select="@timeout"/><xsl:text>"</xsl:text>
      <xsl:if test="@interval"><xsl:text> interval="</xsl:text><xsl:value-of select="@interval"/><xsl:text>"</xsl:text></xsl:if>
      <xsl:text> \e&#10;</xsl:text>
    </xsl:for-each>
    <xsl:text>  meta target-role="Started"&#10;.fi&#10;.SH SEE ALSO&#10;</xsl:text>
    <xsl:text>.BR crm (8),&#10;.BR virsh (1),&#10;.BR ocf-tester (8)&#10;</xsl:text>
  </xsl:template>
</xsl:stylesheet>
